/**
 * Loads the project's service .proto files for @grpc/grpc-js through
 * @grpc/proto-loader (the one gRPC loader shared by berthd, berthctl and the
 * tests). Paths are relative to protoDir() (see loader.ts).
 *
 * Messages are plain objects with camelCase keys; int64 become numbers, enums
 * strings, bytes Buffers; missing scalar fields get their defaults, so a
 * handler can read `req.name` without checks.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from './loader';

export const loaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: false,
  oneofs: true,
};

/** Every service the supervisor serves, by short name → file. */
export const serviceFiles = {
  version: 'services/version/v1/version.proto',
  namespaces: 'services/namespaces/v1/namespace.proto',
  introspection: 'services/introspection/v1/introspection.proto',
  content: 'services/content/v1/content.proto',
  images: 'services/images/v1/images.proto',
  leases: 'services/leases/v1/leases.proto',
  events: 'services/events/v1/events.proto',
  containers: 'services/containers/v1/containers.proto',
  snapshots: 'services/snapshots/v1/snapshots.proto',
  diff: 'services/diff/v1/diff.proto',
  tasks: 'services/tasks/v1/tasks.proto',
} as const;

const cache = new Map<string, grpc.GrpcObject>();

/** Loads .proto files (relative to protoDir()) into a grpc-js package object. */
export function loadGrpc(files: readonly string[]): grpc.GrpcObject {
  const key = files.join('\0');
  let obj = cache.get(key);
  if (!obj) {
    const def = protoLoader.loadSync(files as string[], { ...loaderOptions, includeDirs: [protoDir()] });
    obj = grpc.loadPackageDefinition(def);
    cache.set(key, obj);
  }
  return obj;
}

/** Looks up a service constructor by its full name, e.g. "containerd.services.images.v1.Images". */
export function serviceClient(files: readonly string[], fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = loadGrpc(files);
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)?.[part];
  if (typeof node !== 'function' || !('service' in node)) {
    throw new Error(`no gRPC service ${fullName} in ${files.join(', ')}`);
  }
  return node as grpc.ServiceClientConstructor;
}

/** The service definition (for grpc.Server.addService) of a service's full name. */
export function serviceDefinition(files: readonly string[], fullName: string): grpc.ServiceDefinition {
  return serviceClient(files, fullName).service;
}
