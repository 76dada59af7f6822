// Plugins page: list plugins, load/unload them (PUT /plugins/{name} {"active": bool}).

import { mountSwitches } from '../switches.js';

export function mount(root) {
  return mountSwitches(root, {
    label: 'Plugins',
    path: '/plugins',
    kind: 'plugin',
    flag: 'active',
    columns: [
      { title: 'Description', cell: (p) => p.description },
      { title: 'Version', cell: (p) => p.version },
    ],
    words: {
      on: 'active', off: 'inactive',
      switchOn: 'Load', switchOff: 'Unload',
      turnedOn: 'loaded', turnedOff: 'unloaded',
    },
  });
}
