// Runs every graphql-http server audit against URL and prints one line per audit.
// Exit status: 0 when all are ok; 1 when any warns or errors.
import { serverAudits } from 'graphql-http';

const url = process.argv[2] ?? 'http://127.0.0.1:8000/graphql';
const token = process.env.LOYALTY_AUDIT_TOKEN;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await Promise.all(serverAudits({ url, fetchFn }).map(({ fn }) => fn()));
const counts = { ok: 0, warn: 0, error: 0, notice: 0 };
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  const detail = result.status === 'ok' ? '' : ` -- ${result.reason}`;
  console.log(`${result.status.padEnd(6)} ${result.id} ${result.name}${detail}`);
}
console.log(`\n${results.length} audits: ${counts.ok} ok, ${counts.warn} warn, ${counts.error} error, ${counts.notice ?? 0} notice`);
process.exit(counts.ok === results.length ? 0 : 1);
