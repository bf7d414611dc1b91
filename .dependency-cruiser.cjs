/**
 * Import direction, checked by `npm run lint:layers` (dependency-cruiser, see STYLE.md "Layout"):
 *
 *   routes -> services -> streaming | rag -> providers -> foundation (errors, config, config-values, embedding-models, cancellation, redaction, schemas)
 *
 * Each layer lists the layers it may import; any other file under src/ is forbidden to it. So a file
 * that is in no layer can only be imported by the wiring (app.ts, server.ts, plugins/, cli/), which may import
 * anything. Tests, bench and scripts are checked for cycles only.
 */
const FOUNDATION =
  '^src/(errors|config|config-values|embedding-models|cancellation|redaction)[.]ts$|^src/schemas/'

/** Layer name -> its files, and the layers it may import (itself included). */
const LAYERS = {
  foundation: { path: FOUNDATION, imports: ['foundation'] },
  // What providers share with rag or streaming (a wire decoder, an embedding space) lives in providers.
  providers: { path: '^src/providers/', imports: ['providers', 'foundation'] },
  // Siblings: streaming and rag never import each other.
  streaming: { path: '^src/streaming/', imports: ['streaming', 'providers', 'foundation'] },
  rag: { path: '^src/rag/', imports: ['rag', 'providers', 'foundation'] },
  services: { path: '^src/services/', imports: ['services', 'streaming', 'rag', 'providers', 'foundation'] },
  // Routes write stream responses through streaming; rag and providers only as types (next rule).
  routes: {
    path: '^src/routes/',
    imports: ['routes', 'services', 'streaming', 'rag', 'providers', 'foundation'],
  },
}

const layerRules = Object.entries(LAYERS).map(([name, { path, imports }]) => ({
  name: `${name}-imports-only-${imports.filter((other) => other !== name).join('-') || 'itself'}`,
  comment: `a ${name} file imports under src/ only from: ${imports.join(', ')}`,
  severity: 'error',
  from: { path },
  to: { path: '^src/', pathNot: imports.map((other) => LAYERS[other].path).join('|') },
}))

/** Vendor packages stay in the adapter that translates them: no vendor value or type above it. */
const vendorRule = (name, packages, home) => ({
  name,
  comment: `${packages.join(', ')} may only be imported under ${home}`,
  severity: 'error',
  from: { path: '^src/', pathNot: `^${home}` },
  to: { path: `(^|/)node_modules/(@types/)?(${packages.join('|')})/` },
})

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'routes-import-rag-providers-types-only',
      comment: 'routes may name rag and provider types (erased by `import type`), not import their values',
      severity: 'error',
      from: { path: LAYERS.routes.path },
      to: {
        path: `${LAYERS.rag.path}|${LAYERS.providers.path}`,
        dependencyTypesNot: ['type-only', 'type-import'],
      },
    },
    vendorRule('llm-vendors-only-in-providers', ['openai', 'ollama', 'undici'], 'src/providers/'),
    vendorRule(
      'store-vendors-only-in-rag-stores',
      ['@lancedb/lancedb', 'apache-arrow', 'pg', 'pgvector'],
      'src/rag/stores/',
    ),
    {
      name: 'no-circular',
      comment: 'a cycle makes load order matter and the layering meaningless',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import the resolver cannot follow would pass every rule above unseen',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // test/fixtures/layers breaks every rule on purpose, for test/layers.test.ts.
    exclude: { path: '^test/fixtures/' },
    // Keep `import type` edges: the routes rule tells them apart, the other layers count them as imports.
    tsPreCompilationDeps: true,
    // NodeNext: `./x.js` specifiers resolve to `./x.ts`.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
    },
  },
}
