import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, lowest first (the table in DEVELOPERS.md). A folder may import its own files
 * and any folder on a lower layer; never a folder on its own layer or a higher one. Static imports,
 * `export … from` and dynamic `import()` are all checked.
 */
const LAYERS = [
  ['model'],
  ['predict', 'optimize', 'onnx', 'workload'],
  ['plan', 'dispatch', 'profile'],
  ['simulate'],
  ['experiments', 'serve', 'export'],
  ['cli'],
];

function layerRules() {
  return LAYERS.flatMap((layer, rank) =>
    layer.map((folder) => {
      const banned = LAYERS.slice(rank)
        .flat()
        .filter((f) => f !== folder);
      if (banned.length === 0) return { files: [`src/${folder}/**`], rules: {} };
      const re = `^(\\.\\./)+(${banned.join('|')})/`; // '../serve/x.ts', '../../cli/io.ts', …
      const message = `src/${folder} (layer ${rank}) may only import lower layers: see "Layers" in DEVELOPERS.md`;
      return {
        files: [`src/${folder}/**`],
        rules: {
          'no-restricted-imports': ['error', { patterns: [{ regex: re, message }] }],
          'no-restricted-syntax': [
            'error',
            { selector: `ImportExpression[source.value=/${re.replaceAll('/', '\\/')}/]`, message },
          ],
        },
      };
    }),
  );
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'reports/', 'web/vendor/', 'coverage/', 'hetserve-export/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        document: 'readonly',
        window: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A test must be able to fail: nothing focused, skipped or left to do.
      'no-restricted-properties': [
        'error',
        ...['it', 'test', 'describe', 'suite'].flatMap((object) =>
          ['only', 'skip', 'todo'].map((property) => ({ object, property })),
        ),
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.name=/^(it|test|describe|suite)$/] > ObjectExpression > Property[key.name=/^(only|skip|todo)$/]',
          message: 'A test must be able to fail: no { only }, { skip } or { todo } options.',
        },
        {
          selector: "CallExpression[callee.object.name='t'][callee.property.name=/^(skip|todo)$/]",
          message: 'A test must be able to fail: no t.skip() or t.todo().',
        },
      ],
    },
  },
  ...layerRules(),
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'hdr-histogram-js',
              allowTypeImports: true,
              message:
                "Its index also loads the package's WebAssembly build (pako, a wasm loader: ~300 kB of a command bundle); build histograms with hdrHistogram() from src/simulate/metrics.ts.",
            },
            {
              name: 'linear-sum-assignment',
              allowTypeImports: true,
              message:
                'A non-default solver whose import costs ~150-210 ms cold: src/dispatch/distributor.ts loads it on first use.',
            },
          ],
        },
      ],
    },
  },
  // bin/ is CommonJS (bin/package.json): Node starts a CommonJS entry point without its ES module loader.
  {
    files: ['bin/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
