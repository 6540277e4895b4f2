// kubemu CLI. `kubemu up` (npm start) needs the apiserver's storage, registry and REST layers,
// which are not built yet (see README "Status"); until then say so plainly instead of crashing.
const [command = 'up'] = process.argv.slice(2);
if (command === '--help' || command === 'help') {
  console.log('usage: kubemu up | down | status   (not implemented yet: see README, "Status")');
  process.exit(0);
}
console.error(`kubemu ${command}: not implemented yet — the apiserver's storage, registry and REST layers come first (README, "Status").`);
process.exit(1);
