/**
 * One `events --stats` as the runtime CLI will do it: load the manager from
 * the stored cgroup paths, read the stats, print runc's JSON line.
 *   node stats-once.js ID PATHS_JSON
 */
import { loadCgroupManager } from '../../runtime/src/cgroups/new';
import { formatStatsEvent } from '../../runtime/src/cgroups/stats';

const [id, paths] = process.argv.slice(2);
process.stdout.write(formatStatsEvent(id, loadCgroupManager(JSON.parse(paths)).stats()) + '\n');
