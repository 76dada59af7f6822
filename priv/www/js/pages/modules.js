// Modules page: built-in modules (presence, autosub, rewrite), enable/disable them.

import { mountSwitches } from '../switches.js';

export function mount(root) {
  return mountSwitches(root, {
    label: 'Modules',
    path: '/modules',
    kind: 'module',
    flag: 'enabled',
    columns: [{ title: 'Description', cell: (m) => m.description }],
    words: {
      on: 'enabled', off: 'disabled',
      switchOn: 'Enable', switchOff: 'Disable',
      turnedOn: 'enabled', turnedOff: 'disabled',
    },
  });
}
