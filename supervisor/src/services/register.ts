/**
 * Helpers for the gRPC plugins: each service registers as an
 * io.containerd.grpc.v1 plugin whose instance adds itself to the server.
 */
import type * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../../proto/src/grpc';

/** What a service registers with: berthd's GrpcServer, or a grpc-js Server (same addService). */
export interface ServiceRegistry {
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void;
}

export interface GrpcService {
  register(server: ServiceRegistry): void;
}

/** Builds a GrpcService from a proto file, a service name and its handlers. */
export function grpcService(file: string, fullName: string, impl: grpc.UntypedServiceImplementation): GrpcService {
  return { register: (server) => server.addService(serviceDefinition([file], fullName), impl) };
}

export const LEASE_HEADER = 'containerd-lease';

/** The lease a call runs under (the containerd-lease header), if any. */
export function leaseOf(md: grpc.Metadata): string | undefined {
  const v = md.get(LEASE_HEADER);
  return v.length ? String(v[0]) : undefined;
}
