/**
 * The shim's protobuf types, from a JSON descriptor set generated from the
 * .proto files (shim/src/generated/shim-protos.json). Loading JSON with
 * protobufjs/light is several times faster than parsing .proto text and
 * keeps protobufjs' parser out of the bundle, which matters for a process
 * started once per container. protos.test.ts checks that the JSON matches
 * the .proto files (and regenerates it with BERTH_UPDATE_PROTO_JSON=1).
 */
import * as protobuf from 'protobufjs/light';
import descriptors from './generated/shim-protos.json';

/** The .proto files (relative to proto/) the shim uses. */
export const SHIM_PROTO_FILES = [
  'runtime/task/v2/shim.proto',
  'runtime/v2/runc/options/oci.proto',
  'runtime/options/v1/api.proto',
  'services/ttrpc/events/v1/events.proto',
  'events/task.proto',
  'types/cgroups/v1/metrics.proto',
  'types/cgroups/v2/metrics.proto',
];

let root: protobuf.Root | undefined;

export function shimRoot(): protobuf.Root {
  if (!root) {
    root = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
    root.resolveAll();
  }
  return root;
}
