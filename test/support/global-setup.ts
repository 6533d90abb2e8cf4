// Vitest global setup. The guest-fixture build is wired in here (see test/support/fixtures.ts).
export default async function setup(): Promise<void> {}
