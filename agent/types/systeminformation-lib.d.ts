// Deep imports of systeminformation's per-topic modules: the package index loads every topic
// (docker, wifi, bluetooth, ...) and costs the idle agent megabytes of heap it never uses.
declare module 'systeminformation/lib/osinfo.js' {
  export const osInfo: typeof import('systeminformation').osInfo;
}
declare module 'systeminformation/lib/memory.js' {
  export const mem: typeof import('systeminformation').mem;
}
