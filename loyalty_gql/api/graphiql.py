"""GraphiQL, the in-browser IDE at GET /graphql (never in production): strawberry's page,
whose scripts and styles come from the service itself when a local copy of them is
installed (`scripts/setup-graphiql`, from the npm registry), from unpkg.com otherwise.

The page names each file as `https://unpkg.com/<package>@<version>/<path>` with its
Subresource Integrity hash. The local copy is those packages at those versions, installed
with npm into `LOYALTY_GRAPHIQL_DIR` (`.graphiql/` in the checkout by default); when every
file is there at the version the page asks for, the page points at `/graphiql/<package>/
<path>` instead, and only those files are served there. npm's files are the CDN's, byte
for byte, so the integrity hashes still hold (a browser refuses a file that differs).

`python -m loyalty_gql.api.graphiql` prints the packages to install (`scripts/setup-graphiql`
reads it), so a strawberry upgrade that moves to other versions asks for those.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

ASSETS_PATH = "/graphiql"
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / ".graphiql"
CDN_FILE = re.compile(
    r"https://unpkg\.com/(?P<package>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[\w.-]+)/(?P<path>[^\"'\s]+)"
)


@dataclass(frozen=True, slots=True)
class Asset:
    """A file the page loads: a package at a version, and its path in the package."""

    package: str
    version: str
    path: str

    @property
    def cdn_url(self) -> str:
        """Where the page loads it from without a local copy."""
        return f"https://unpkg.com/{self.package}@{self.version}/{self.path}"

    @property
    def local_url(self) -> str:
        """Where the service serves it from the local copy."""
        return f"{ASSETS_PATH}/{self.package}/{self.path}"

    def installed(self, directory: Path) -> Path | None:
        """The file in the local copy when the package is there at this version."""
        package = directory / "node_modules" / self.package
        try:
            version = json.loads((package / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None
        found = (package / self.path).resolve()
        if version != self.version or not found.is_file() or package.resolve() not in found.parents:
            return None
        return found


def page_assets(html: str) -> list[Asset]:
    """The files a GraphiQL page loads from the CDN, in order."""
    return [Asset(m["package"], m["version"], m["path"]) for m in CDN_FILE.finditer(html)]


class GraphiQL:
    """The IDE's page, and the local files it loads (empty when it loads the CDN's)."""

    def __init__(self, directory: Path | None = None) -> None:
        html = get_graphql_ide_html("graphiql")
        assets = page_assets(html)
        where = directory or DEFAULT_DIRECTORY
        installed = {asset: path for asset in assets if (path := asset.installed(where))}
        self.files: dict[str, Path] = {}
        if assets and len(installed) == len(assets):
            for asset, path in installed.items():
                html = html.replace(asset.cdn_url, asset.local_url)
                self.files[asset.local_url] = path
        self.html = html.encode()

    @property
    def offline(self) -> bool:
        """Whether the page loads everything from the service."""
        return bool(self.files)


def packages() -> list[str]:
    """`package@version` of every package the page needs, for npm install."""
    return sorted(
        {f"{a.package}@{a.version}" for a in page_assets(get_graphql_ide_html("graphiql"))}
    )


if __name__ == "__main__":
    print(" ".join(packages()))  # noqa: T201 - scripts/setup-graphiql reads it
