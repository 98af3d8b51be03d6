// Apollo Client's InMemoryCache, with no typePolicies, against the service: the storefront's
// dashboard, then a write, then a balance-only query (the points badge). Run by
// tests/api/test_apollo_cache.py with one JSON argument:
//   {url, token, dashboard, badge, write: {token, query, variables}, control: {dashboard, badge}}
// Prints one JSON line: for the scenario and for the control (the same queries without the
// ids, as a client had to send them before Balance had one), whether the cache still
// answers each query completely, what it answers, and the warnings Apollo printed.
import { format } from "node:util";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev";
import { __DEV__ } from "@apollo/client/utilities/environment";

// Apollo checks for data loss only in development builds (node --conditions=development,
// as bundlers do in development), and prints its warnings in full when its messages are loaded
loadDevMessages();
loadErrorMessages();

const config = JSON.parse(process.argv[2]);
const warnings = [];
console.warn = (...args) => warnings.push(format(...args));

async function post(token, query, variables) {
  const response = await fetch(config.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function scenario(dashboardText, badgeText) {
  const client = new ApolloClient({
    link: new HttpLink({ uri: config.url, headers: { authorization: `Bearer ${config.token}` } }),
    cache: new InMemoryCache(),
  });
  const dashboard = gql(dashboardText);
  const badge = gql(badgeText);
  const first = await client.query({ query: dashboard });
  await post(config.write.token, config.write.query, config.write.variables);
  const second = await client.query({ query: badge, fetchPolicy: "network-only" });
  const seen = warnings.length;
  const read = (query) => client.cache.diff({ query, optimistic: false, returnPartialData: true });
  const dashboardRead = read(dashboard);
  const badgeRead = read(badge);
  return {
    dashboardComplete: dashboardRead.complete,
    badgeComplete: badgeRead.complete,
    dashboardFromNetwork: first.data,
    dashboardFromCache: client.cache.readQuery({ query: dashboard }),
    badgeFromNetwork: second.data,
    badgeFromCache: client.cache.readQuery({ query: badge }),
    warnings: warnings.splice(0, seen),
  };
}

// the scenario first: Apollo warns once per type and field in a process, so a control run
// before it would hide its warnings
const result = await scenario(config.dashboard, config.badge);
const control = await scenario(config.control.dashboard, config.control.badge);
process.stdout.write(JSON.stringify({ development: __DEV__, result, control }) + "\n");
