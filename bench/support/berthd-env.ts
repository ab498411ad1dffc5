/**
 * berthd's start options from the benches' environment, to try a setting
 * without editing a bench:
 *   BENCH_BERTHD_CONFIG="TOML"         added to berthd's config
 *   BENCH_BERTHD_ENV="K=V;K2=V2"       berthd's environment (e.g. NODE_OPTIONS)
 *   BENCH_BERTHD_NODE_ARGS="--a --b"   flags to berthd's node (V8 flags NODE_OPTIONS refuses)
 */
import type { BerthdOptions } from '../../test/supervisor/support/daemon';

export function berthdOptionsFromEnv(): Pick<BerthdOptions, 'extraConfig' | 'env' | 'nodeArgs'> {
  const env = process.env.BENCH_BERTHD_ENV;
  return {
    extraConfig: process.env.BENCH_BERTHD_CONFIG,
    env: env ? { ...process.env, ...Object.fromEntries(env.split(';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) } : undefined,
    nodeArgs: process.env.BENCH_BERTHD_NODE_ARGS?.split(' ').filter((a) => a !== ''),
  };
}
