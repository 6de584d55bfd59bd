// The page a browser gets at GET /graphql in development: a query editor, a variables editor, the result
// and the schema's documentation. Apollo's own landing pages load their code from a CDN; this one is a
// single self-contained document (inline CSS and script, no external URL), so it works offline. A Content
// Security Policy pins the inline script and style by hash and allows requests to this server only.
//
// Everything taken from the schema or a response is rendered with `textContent`, never as HTML.
import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';

/** What the Schema panel asks for: every type with its fields, arguments and enum values, documented. */
export const SCHEMA_QUERY = `query LandingPageSchema {
  __schema {
    types {
      kind name description
      fields { name description args { name description type { ...Ref } } type { ...Ref } }
      inputFields { name description type { ...Ref } }
      enumValues { name description }
    }
  }
}
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`;

const STYLE = `
:root { color-scheme: light dark; --line: #8884; --muted: #888; --accent: #2f6fdd; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; }
header { display: flex; gap: 1em; align-items: baseline; padding: 0.6em 1em; border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 1.1em; }
header span, .muted { color: var(--muted); }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr) minmax(0, 0.8fr); gap: 1em; padding: 1em; }
section { display: flex; flex-direction: column; gap: 0.4em; min-height: 0; }
h2, label { margin: 0; font-size: 0.9em; font-weight: 600; }
textarea, pre, input { font: 13px/1.4 ui-monospace, monospace; border: 1px solid var(--line); border-radius: 4px; padding: 0.5em; background: transparent; color: inherit; }
textarea { resize: vertical; width: 100%; tab-size: 2; }
#query { min-height: 22em; }
#variables { min-height: 7em; }
pre { margin: 0; min-height: 30em; overflow: auto; white-space: pre-wrap; word-break: break-word; }
.actions { display: flex; gap: 1em; align-items: center; }
button { font: inherit; padding: 0.35em 1.2em; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
button:disabled { opacity: 0.6; cursor: wait; }
#schema { overflow: auto; max-height: 75vh; }
details { border-bottom: 1px solid var(--line); padding: 0.3em 0; }
summary { cursor: pointer; font-family: ui-monospace, monospace; }
.kind { color: var(--muted); font-size: 0.85em; }
.doc { margin: 0.3em 0 0.3em 1em; }
dl { margin: 0.3em 0 0 1em; }
dt { font-family: ui-monospace, monospace; margin-top: 0.4em; }
dd { margin: 0 0 0 1em; color: var(--muted); }
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
`;

const SCRIPT = `
'use strict';
(function () {
  const byId = (id) => document.getElementById(id);
  const endpoint = window.location.pathname;
  const SCHEMA_QUERY = ${JSON.stringify(SCHEMA_QUERY)};
  let types = [];

  async function post(body) {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: Object.assign(
        { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        byId('token').value.trim() ? { authorization: 'Bearer ' + byId('token').value.trim() } : {},
      ),
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  }

  function pretty(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }

  async function run() {
    const status = byId('status');
    const raw = byId('variables').value.trim();
    let variables = {};
    if (raw !== '') {
      try {
        variables = JSON.parse(raw);
      } catch (error) {
        status.textContent = 'Variables are not valid JSON: ' + error.message;
        return;
      }
      if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) {
        status.textContent = 'Variables must be a JSON object.';
        return;
      }
    }
    byId('run').disabled = true;
    status.textContent = 'Running...';
    try {
      const response = await post({ query: byId('query').value, variables: variables });
      status.textContent = 'HTTP ' + response.status;
      byId('result').textContent = pretty(response.text);
    } catch (error) {
      status.textContent = 'Request failed: ' + error.message;
    } finally {
      byId('run').disabled = false;
    }
  }

  function typeName(ref) {
    if (!ref) return '?';
    if (ref.kind === 'NON_NULL') return typeName(ref.ofType) + '!';
    if (ref.kind === 'LIST') return '[' + typeName(ref.ofType) + ']';
    return ref.name;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function renderSchema() {
    const box = byId('schema');
    const filter = byId('schema-filter').value.trim().toLowerCase();
    box.replaceChildren();
    for (const type of types) {
      if (filter && !type.name.toLowerCase().includes(filter)) continue;
      const details = element('details');
      const summary = element('summary', null, type.name + ' ');
      summary.append(element('span', 'kind', type.kind.toLowerCase()));
      details.append(summary);
      if (type.description) details.append(element('p', 'doc', type.description));
      const members = type.fields || type.inputFields || type.enumValues || [];
      if (members.length > 0) {
        const list = element('dl');
        for (const member of members) {
          const args = member.args && member.args.length > 0
            ? '(' + member.args.map((a) => a.name + ': ' + typeName(a.type)).join(', ') + ')'
            : '';
          list.append(element('dt', null, member.name + args + (member.type ? ': ' + typeName(member.type) : '')));
          list.append(element('dd', null, member.description || '(no description)'));
          for (const arg of member.args || []) {
            if (arg.description) list.append(element('dd', null, arg.name + ': ' + arg.description));
          }
        }
        details.append(list);
      }
      box.append(details);
    }
  }

  async function loadSchema() {
    const box = byId('schema');
    box.textContent = 'Loading...';
    let body;
    try {
      body = JSON.parse((await post({ query: SCHEMA_QUERY })).text);
    } catch (error) {
      box.textContent = 'Could not load the schema: ' + error.message;
      return;
    }
    if (!body.data || !body.data.__schema) {
      const reason = body.errors && body.errors[0] ? body.errors[0].message : 'no data';
      box.textContent = 'Introspection is off or failed: ' + reason;
      return;
    }
    types = body.data.__schema.types
      .filter((type) => !type.name.startsWith('__'))
      .sort((a, b) => a.name.localeCompare(b.name));
    renderSchema();
  }

  function onKey(event) {
    if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
      event.preventDefault();
      run();
    } else if (event.key === 'Tab' && !event.shiftKey) {
      event.preventDefault();
      event.target.setRangeText('  ', event.target.selectionStart, event.target.selectionEnd, 'end');
    }
  }

  byId('run').addEventListener('click', run);
  byId('query').addEventListener('keydown', onKey);
  byId('variables').addEventListener('keydown', onKey);
  byId('schema-filter').addEventListener('input', renderSchema);
  byId('token').addEventListener('change', loadSchema);
  loadSchema();
})();
`;

const DEFAULT_QUERY = `# Write a query, then Run (Ctrl+Enter).
query {
  version
}
`;

/** The landing page's HTML; it is the same for every request. */
export function landingPageHtml(): string {
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(SCRIPT)}'`,
    `style-src '${sha256(STYLE)}'`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<title>stitchgraph GraphQL</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>stitchgraph</h1><span>GraphQL: POST JSON to this URL</span></header>
<main>
<section>
<label for="token">Access token (every request needs one of this space's tokens)</label>
<input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="sgt_...">
<label for="query">Query</label>
<textarea id="query" spellcheck="false">${DEFAULT_QUERY}</textarea>
<label for="variables">Variables (JSON)</label>
<textarea id="variables" spellcheck="false">{}</textarea>
<div class="actions"><button id="run" type="button">Run</button><span id="status" class="muted" role="status"></span></div>
</section>
<section>
<h2>Result</h2>
<pre id="result" aria-live="polite"></pre>
</section>
<section>
<h2>Schema</h2>
<input id="schema-filter" type="search" placeholder="Filter types" aria-label="Filter types">
<div id="schema"></div>
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Serves landingPageHtml() to browsers; Apollo answers other GETs and POSTs as GraphQL. */
export function landingPagePlugin(): ApolloServerPlugin {
  const html = landingPageHtml();
  return {
    async serverWillStart() {
      return { renderLandingPage: async () => ({ html }) };
    },
  };
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}
