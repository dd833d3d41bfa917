import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    environment: 'node',
    // Each test states its own fake timers and stubs; none may leak into the next.
    restoreMocks: true,
    unstubGlobals: true
  }
});
