// The Chromium that browser runs here drive (Debian's, never a downloaded one; CHROMIUM_PATH
// overrides it) and the flags every headless run uses: no sandbox, GPU, QUIC or background
// network traffic, so that nothing but the page under test touches the network.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
