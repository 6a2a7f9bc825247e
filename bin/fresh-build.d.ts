/** Whether `<root>/dist` is up to date with `<root>/src` (root: a directory URL ending in '/'). */
export function buildIsFresh(root: URL): boolean;
