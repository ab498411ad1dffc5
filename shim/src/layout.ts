/**
 * A shim's own directory, <BERTH_SHIM_STATE_ROOT>/<hash>/ (default root
 * /run/berth/shim): what `start` and the server agree on.
 */
/** The ttrpc socket. */
export const SOCKET = 'sock';
/** One empty file per container the shim serves (packing counts them). */
export const MEMBERS_DIR = 'members';
/** Events waiting for the supervisor, one file each. */
export const EVENTS_DIR = 'events';
/** Transient console and relay sockets. */
export const IO_DIR = 'io';
/** What a hibernated server recorded for the next one (hibernate.ts). */
export const HIBERNATED_FILE = 'hibernated.json';
