// One keep-alive connection pool for the controller's API requests. client-node 1.4 builds a new
// https.Agent for every request (KubeConfig.applySecurityAuthentication → createAgent), so every
// status patch, finalizer patch, Event and ledger write paid a TCP connect and a full TLS
// handshake on both sides: in the benchmark's CPU profile of a 1,000-host cold start, TLS set-up
// (SecureContext, TLSSocket._start, …) was a quarter of the controller's CPU time, and the API
// server's handshakes a large part of its own. Requests made through the view returned here share
// one keep-alive agent instead. Watches are left alone: they reach the agent through
// applyToFetchOptions, keep a private agent each, and watch-deadline.ts may destroy that agent
// to cut one watch.
import { Agent, type AgentOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

type AuthContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/** The TLS options an agent was made from; a new pool starts when they change (rotated client certificate). */
function tlsKey(o: AgentOptions): string {
  const s = (v: unknown): string => (v === undefined ? '' : Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'string' ? v : JSON.stringify(v));
  return [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map(s).join('\0');
}

export interface SharedConnections {
  /** A view of kc for makeApiClient: its API requests share one keep-alive agent. */
  kc: KubeConfig;
  /** Agents made so far (1 unless the TLS options changed; for tests). */
  readonly agents: number;
  /** Closes the pooled connections (shutdown). */
  close(): void;
}

export function shareConnections(kc: KubeConfig): SharedConnections {
  let agent: Agent | undefined;
  let key = '';
  let agents = 0;
  const view = Object.create(kc) as KubeConfig;
  view.applySecurityAuthentication = async (context: AuthContext): Promise<void> => {
    const setAgent = context.setAgent.bind(context);
    context.setAgent = (made) => {
      // Only a plain https.Agent is replaced; a proxy agent (socks, HTTP CONNECT) or plain http is kept as made.
      if (!(made instanceof Agent) || made.constructor !== Agent) return setAgent(made);
      const opts = (made as Agent & { options: AgentOptions }).options;
      const k = tlsKey(opts);
      if (!agent || k !== key) {
        agent?.destroy();
        agent = new Agent({ ...opts, keepAlive: true, scheduling: 'lifo' });
        key = k;
        agents++;
      }
      made.destroy();
      setAgent(agent);
    };
    try {
      await kc.applySecurityAuthentication.call(view, context);
    } finally {
      context.setAgent = setAgent;
    }
  };
  return {
    kc: view,
    get agents() {
      return agents;
    },
    close: () => agent?.destroy(),
  };
}
