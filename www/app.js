// The page: one <llm-metrics-dashboard>. Files dropped anywhere on the page go to it instead of
// replacing the tab (and its data) with the file.

import './dashboard.js';

const dashboard = document.getElementById('dashboard');

window.addEventListener('dragover', (event) => {
  if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
});
window.addEventListener('drop', (event) => {
  if (event.defaultPrevented || !event.dataTransfer?.types.includes('Files')) return;
  event.preventDefault();
  const files = [...event.dataTransfer.files];
  if (files.length > 0) dashboard.ready.then(() => dashboard.loadFiles(files));
});
