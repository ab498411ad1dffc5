/**
 * The plugins compiled into berthd: importing a module registers it.
 * Snapshotters (supervisor/src/snapshots/*), the differ and the diff service
 * add their import here; the tasks service and shim manager likewise.
 */
import '../metadata/plugin';
import '../services/version/service';
import '../services/namespaces/service';
import '../services/content/service';
import '../services/images/service';
import '../services/leases/service';
import '../services/events/service';
import '../services/containers/service';
import '../services/introspection/service';
import '../snapshots/register';
import '../services/snapshots/service';
import '../services/diff/service';
import '../tasks/plugin';
import '../services/tasks/service';
