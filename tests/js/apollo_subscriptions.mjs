// Apollo Client 4 with GraphQLWsLink (graphql-ws over `ws`) against the service: the
// customer's dashboard query over HTTP, then viewerUpdates over WebSocket; a write made
// by the shop (HTTP, admin token) must arrive and update the cached dashboard with no
// typePolicies. A bad token must be refused with 4403. Driven by
// tests/api/test_js_clients_subscriptions.py; prints one JSON line of findings.
import { ApolloClient, HttpLink, InMemoryCache, gql, split } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const { BASE_URL, CUSTOMER_TOKEN, ADMIN_TOKEN, CUSTOMER_ID, POINTS } = process.env;
const WS_URL = BASE_URL.replace(/^http/, "ws") + "/graphql";
const warnings = [];
const warn = console.warn;
console.warn = (...args) => { warnings.push(args.map(String).join(" ")); };

const DASHBOARD = gql`
  query Dashboard { viewer { id balance { available } vouchers { code } tier { name } } }
`;
const UPDATES = gql`
  subscription ViewerUpdates {
    viewerUpdates { reason version customer { id balance { available } vouchers { code } tier { name } } }
  }
`;
const GRANT = `mutation Grant($input: GrantPointsInput!) { grantPoints(input: $input) { userErrors { code } } }`;

function timeout(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));
}

async function grant() {
  const response = await fetch(BASE_URL + "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({
      query: GRANT,
      variables: { input: { customerId: CUSTOMER_ID, points: Number(POINTS), reason: "js" } },
    }),
  });
  const body = await response.json();
  if (body.errors || body.data.grantPoints.userErrors.length) throw new Error(JSON.stringify(body));
}

async function refusedWith(token) {
  const client = createClient({
    url: WS_URL, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  const code = await Promise.race([
    new Promise((resolve) => {
      client.subscribe({ query: "subscription { viewerUpdates { version } }" }, {
        next: () => resolve("data"), complete: () => resolve("complete"),
        error: (error) => resolve(error && error.code !== undefined ? error.code : String(error)),
      });
    }),
    timeout(20000, "refusal"),
  ]);
  await client.dispose();
  return code;
}

async function main() {
  const wsClient = createClient({
    url: WS_URL, webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${CUSTOMER_TOKEN}` },
  });
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(wsClient),
    new HttpLink({ uri: BASE_URL + "/graphql", headers: { authorization: `Bearer ${CUSTOMER_TOKEN}` } }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const before = (await client.query({ query: DASHBOARD })).data.viewer;
  const updates = [];
  const changed = await Promise.race([
    new Promise((resolve, reject) => {
      client.subscribe({ query: UPDATES }).subscribe({
        next: ({ data, error }) => {
          if (error) { reject(error); return; }
          updates.push(data.viewerUpdates);
          if (data.viewerUpdates.reason === "SUBSCRIBED") grant().catch(reject);
          else resolve(data.viewerUpdates);
        },
        error: reject,
      });
    }),
    timeout(30000, "the update"),
  ]);
  const cached = client.readQuery({ query: DASHBOARD }).viewer;
  await wsClient.dispose();
  const refused = await refusedWith("not-a-token");
  console.warn = warn;
  console.log(JSON.stringify({ before, updates, changed, cached, refused, warnings }));
}

main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
