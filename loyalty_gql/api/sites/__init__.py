"""Sites (shops) and their program settings."""
