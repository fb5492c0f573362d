// The agent's Prometheus metrics (prefix hostnet_agent_): what it manages, what it repaired,
// and when it last finished a check.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly served = new Gauge({ name: 'hostnet_agent_served_hostnetworks', help: 'HostNetworks whose spec.instanceID is this host.', registers: [this.registry] });
  readonly networks = new Gauge({ name: 'hostnet_agent_docker_networks', help: 'Docker networks the agent manages on this host, by state (configured, kept: a block taken away whose network still has containers).', labelNames: ['state'], registers: [this.registry] });
  readonly rules = new Gauge({ name: 'hostnet_agent_iptables_rules', help: "Rules in the agent's iptables chains, by table.", labelNames: ['table'], registers: [this.registry] });
  readonly repairs = new Counter({ name: 'hostnet_agent_repairs_total', help: 'Things found changed by someone else and put back, by kind (iptables, network).', labelNames: ['kind'], registers: [this.registry] });
  readonly syncs = new Counter({ name: 'hostnet_agent_syncs_total', help: 'Checks of the host, by result (success, error).', labelNames: ['result'], registers: [this.registry] });
  readonly lastSync = new Gauge({ name: 'hostnet_agent_last_sync_timestamp_seconds', help: 'When the last successful check of the host ended (Unix time).', registers: [this.registry] });
  readonly routes = new Gauge({ name: 'hostnet_agent_peer_routes', help: 'Routes to peer blocks this agent manages (direct routing).', registers: [this.registry] });
  readonly conflicts = new Gauge({ name: 'hostnet_agent_conflicts', help: 'Served blocks not configured because a Docker network or local route overlaps them.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
