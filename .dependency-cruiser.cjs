// The layer rules of docs/architecture.md, checked by `npm test` (scripts/depcruise.mjs runs this on src/).
// Paths end in .js: the check reads src/ with its types stripped (see the script).
const PRODUCTS = '(dispatch|websub|channels|api|pusher)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import circles: split the shared part out (as store/redis/script.ts was).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-innermost',
      severity: 'error',
      comment: 'core/ imports nothing outside core/: the interfaces it needs from a store (TopicLog) live in core.',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'fanout-private-to-core',
      severity: 'error',
      comment: 'Consumers subscribe through Topics (open, openLive, close); others read the fan-out through Topics.fanout, a read-only view.',
      from: { path: '^src/', pathNot: '^src/core/' },
      to: { path: '^src/core/fanout\\.js$' },
    },
    {
      name: 'store-knows-no-product',
      severity: 'error',
      comment: 'The store implements contracts (store/contracts, core); it imports no product, transport or HTTP part.',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: '^src/(store|core)/' },
    },
    {
      name: 'store-engines-stay-inside',
      severity: 'error',
      comment: 'Outside store/, only store/index.js (createStore) and store/contracts/ are imported, never an engine.',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: '^src/store/', pathNot: '^src/store/(index\\.js$|contracts/)' },
    },
    {
      name: 'products-never-import-each-other',
      severity: 'error',
      comment: 'dispatch, websub, channels, pusher and the topic API share only core/ and store contracts; server.ts wires them.',
      from: { path: `^src/${PRODUCTS}/` },
      to: { path: `^src/${PRODUCTS}/`, pathNot: '^src/$1/' },
    },
    {
      name: 'admin-through-product-index',
      severity: 'error',
      comment: 'The admin console reads a product only through the view its index.js exports.',
      from: { path: '^src/admin/' },
      to: { path: `^src/${PRODUCTS}/`, pathNot: `^src/${PRODUCTS}/index\\.js$` },
    },
    {
      name: 'transports-know-no-producer',
      severity: 'error',
      comment: 'Transports (stream, sse, ws) get what they serve from server.ts; they import no product, admin or store.',
      from: { path: '^src/transports/' },
      to: { path: `^src/(${PRODUCTS.slice(1, -1)}|admin|store|server\\.js)` },
    },
    {
      name: 'only-the-edge-reads-config',
      severity: 'error',
      comment: 'config.ts is read by cli.ts and server.ts; parts take a small options type of their own (StoreConfig, DispatchConfig, ChannelsConfig).',
      from: { path: '^src/', pathNot: '^src/(cli|server|config)\\.js$' },
      to: { path: '^src/config\\.js$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['es6'],
  },
};
