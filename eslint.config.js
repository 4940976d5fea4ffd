// ESLint flat config for the project's JavaScript: the trigger decoder (trigger_codec/js, ES
// modules that run in Node, a page and a Web Worker) and the web receiver page (web_receiver/static).
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: ["node_modules/**", ".venv/**", "bench-out/**", "build/**", "dist/**", "**/vendor/**"],
  },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.worker },
    },
    rules: {
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // The CLI, the node tests and the benchmarks' Node drivers also see Node's globals.
    files: [
      "eslint.config.js",
      "trigger_codec/js/decode.mjs",
      "trigger_codec/js/wav.mjs",
      "trigger_codec/js/test/**",
      "benchmarks/**",
    ],
    languageOptions: { globals: { ...globals.node } },
  },
];
