// ESLint flat config: typescript-eslint's recommended rules, relaxed only where this codebase means it.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.kubemu/', 'dist/', '**/bundles/'] },
  tseslint.configs.recommended,
  {
    rules: {
      // Kubernetes objects are untyped JSON on purpose (any kind, any version, unknown fields kept).
      '@typescript-eslint/no-explicit-any': 'off',
      // `_x` marks a parameter an interface requires, or a field dropped by rest destructuring.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // A `let` read by a closure before its one assignment cannot be a `const` (temporal dead zone).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // The images' servers are CommonJS scripts run by plain node inside their containers.
    files: ['images/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
