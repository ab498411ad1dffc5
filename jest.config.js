/**
 * Jest runs every *.test.ts: unit tests next to the code they test
 * (runtime/src/**), integration tests under test/.
 * Type checking is `npm run typecheck`'s job: ts-jest only transpiles (diagnostics
 * off; tsconfig's isolatedModules makes it transpile file by file).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/runtime', '<rootDir>/shim', '<rootDir>/supervisor', '<rootDir>/proto', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  testTimeout: 60000,
  // Integration tests run real containers on 2 cores; more workers only contend.
  maxWorkers: 2,
};
