// Apollo Client 4 with its PersistedQueryLink (automatic persisted queries) against the
// service, driven by tests/api/test_apollo_persisted.py. It prints one JSON object.
//
//   node apollo_persisted.mjs manifest
//     the Apollo persisted-query manifest of OPERATIONS as this client sends them
//     (printed after the cache's __typename transform, as
//     @apollo/generate-persisted-query-manifest writes it); no server is called
//   node apollo_persisted.mjs run <graphql url> <token> <accept> <post|get> <operation>...
//     runs the named operations in turn (fetchPolicy network-only) through
//     PersistedQueryLink + HttpLink, sending Accept: <accept> ("default": Apollo's own,
//     graphql-response+json then json), hashed queries by POST or by GET
//     (useGETForHashedQueries); prints each result and every HTTP exchange
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { print } from "@apollo/client/utilities";
import { of } from "rxjs";

const OPERATIONS = {
  Viewer: gql`
    query Viewer {
      viewer {
        id
        externalId
        balance {
          available
          pending
        }
      }
    }
  `,
  Unlisted: gql`
    query Unlisted {
      viewer {
        id
        balance {
          pending
        }
      }
    }
  `,
};

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** A fetch that records each request and its answer (method, what the body named, codes). */
function recordingFetch(wire) {
  return async (uri, options) => {
    const url = new URL(uri);
    const sent =
      options.method === "GET"
        ? {
            query: url.searchParams.get("query") ?? undefined,
            operationName: url.searchParams.get("operationName") ?? undefined,
            extensions: url.searchParams.has("extensions")
              ? JSON.parse(url.searchParams.get("extensions"))
              : undefined,
          }
        : JSON.parse(options.body);
    const response = await fetch(uri, options);
    const body = await response.clone().json();
    wire.push({
      method: options.method,
      operationName: sent.operationName ?? null,
      sentQuery: typeof sent.query === "string",
      query: sent.query ?? null,
      persistedQuery: sent.extensions?.persistedQuery ?? null,
      accept: options.headers?.accept ?? null,
      status: response.status,
      contentType: response.headers.get("content-type"),
      data: body.data ?? null,
      codes: (body.errors ?? []).map((error) => error.extensions?.code ?? null),
    });
    return response;
  };
}

/** What the application saw of an operation: its data, or its error's name and codes. */
function outcome(name, result, error) {
  if (error === undefined) {
    return { operation: name, data: result.data ?? null, error: null };
  }
  let codes = [];
  if (CombinedGraphQLErrors.is(error)) {
    codes = error.errors.map((e) => e.extensions?.code ?? null);
  } else if (ServerError.is(error)) {
    try {
      codes = (JSON.parse(error.bodyText).errors ?? []).map((e) => e.extensions?.code ?? null);
    } catch {
      codes = [];
    }
  }
  return { operation: name, data: null, error: { name: error.name, message: error.message, codes } };
}

async function manifest() {
  const operations = [];
  // the link chain ends here: it sees each document exactly as the HttpLink would send it
  const capture = new ApolloLink((operation) => {
    const body = print(operation.query);
    operations.push({ id: sha256(body), name: operation.operationName, type: "query", body });
    return of({ data: { viewer: null } });
  });
  const client = new ApolloClient({ cache: new InMemoryCache(), link: capture });
  for (const query of Object.values(OPERATIONS)) {
    await client.query({ query, fetchPolicy: "network-only" });
  }
  return { format: "apollo-persisted-query-manifest", version: 1, operations };
}

async function run(uri, token, accept, method, names) {
  const wire = [];
  const useGETForHashedQueries = method === "get";
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
    new HttpLink({
      uri,
      headers: { authorization: `Bearer ${token}`, ...(accept === "default" ? {} : { accept }) },
      fetch: recordingFetch(wire),
    }),
  );
  const client = new ApolloClient({ cache: new InMemoryCache(), link });
  const results = [];
  for (const name of names) {
    try {
      const result = await client.query({ query: OPERATIONS[name], fetchPolicy: "network-only" });
      results.push(outcome(name, result, result.error));
    } catch (error) {
      results.push(outcome(name, undefined, error));
    }
  }
  return { results, wire };
}

const [mode, ...args] = process.argv.slice(2);
const report = mode === "manifest" ? await manifest() : await run(args[0], args[1], args[2], args[3], args.slice(4));
process.stdout.write(`${JSON.stringify(report)}\n`);
