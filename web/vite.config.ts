import { defineConfig } from 'vite';

// JSX goes through esbuild (already part of Vite) with Preact's runtime: no Babel plugin to install.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // `npm run dev -w web`: the page from Vite (reloading on change), the API from `make run-dev`.
  server: {
    proxy: { '/v1': { target: process.env.API_URL ?? 'http://127.0.0.1:8080', changeOrigin: true } },
  },
});
