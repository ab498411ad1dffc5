/** v2 rdma: the same files and format as v1 (opencontainers/cgroups fscommon/rdma.go). */
export { rdma } from '../v1/rdma';
