"""Caches and databases beside the tables: DAX, ElastiCache for Redis and RDS."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from app.core import facts
from app.runtime.infra.base import Builders
from app.runtime.infra.identity import service_trust


@dataclass
class Dax:
    """A DAX cluster; handlers reach it by ``endpoint`` (the cluster's discovery endpoint)."""

    name: str
    endpoint: str
    node_type: str
    nodes: int
    client: Any = field(repr=False)

    def counts(self) -> dict[str, int]:
        """Hits and misses of both caches so far."""
        s = self.client.stats()
        return {"hits": s["item_hits"] + s["query_hits"], "misses": s["item_misses"] + s["query_misses"]}

    def answered(self, request: Callable[[], Any]) -> tuple[Any, str]:
        """Make ``request()``: its answer, and ``hit`` when DAX answered a read of it from its cache, else ``miss``."""
        before = self.counts()["hits"]
        answer = request()
        return answer, "hit" if self.counts()["hits"] > before else "miss"

    def stats(self) -> dict:
        return self.client.stats()


@dataclass
class CacheCluster:
    """An ElastiCache (Redis) cluster; handlers reach ``client`` at ``endpoint`` (``redis://host:6379``)."""

    id: str
    endpoint: str
    client: Any = field(repr=False)        # the emulated Redis, or a real server's client (REDIS_URL)


@dataclass
class Database:
    """An RDS DB instance and the SQL behind its endpoint (:class:`app.runtime.dataplanes.rds.SqlDatabase`)."""

    instance_id: str
    sql: Any = field(repr=False)


class DatabaseBuilders(Builders):
    """Builders of DAX clusters, Redis clusters and DB instances."""

    def dax(self, base: str, *, node_type: str = facts.DAX_NODE_TYPE_DEFAULT.value, nodes: int = 1,
            clock: Callable[[], float] | None = None) -> Dax:
        """A DAX cluster (one node: a run needs no replicas) with its service role; ``clock`` (the run's,
        ``ctx.clock``) times its TTLs instead of the process's clock."""
        role = self.role(f"{base}-dax-access", service_trust("dax.amazonaws.com"))
        cluster = self._client("dax").create_cluster(
            ClusterName=self.ctx.name(base)[:20].rstrip("-"), NodeType=node_type, ReplicationFactor=nodes,
            IamRoleArn=role)["Cluster"]
        found = cluster.get("ClusterDiscoveryEndpoint") or {}
        endpoint = f"dax://{found.get('Address', cluster['ClusterName'])}:{found.get('Port', 8111)}"
        client = self.ctx.planes.dax(cluster["ClusterName"], endpoint=endpoint, node_type=node_type,
                                     **({"clock": clock} if clock else {}))
        self.ctx.deployed.update(dax_nodes=nodes, dax_node_type=node_type, dax_ttl_s=client.item_ttl_s)
        return Dax(cluster["ClusterName"], endpoint, node_type, nodes, client)

    def redis_cluster(self, base: str, *, node_type: str = "cache.t4g.micro") -> CacheCluster:
        """A one-node ElastiCache for Redis cluster; its endpoint is bound to the Redis behind it (emulated, or
        the server at REDIS_URL) for the run's handlers, and released at teardown."""
        from app.runtime.dataplanes import elasticache, endpoints

        cluster = self._client("elasticache").create_cache_cluster(
            CacheClusterId=self.ctx.name(base)[:40], Engine="redis", CacheNodeType=node_type,
            NumCacheNodes=1)["CacheCluster"]
        endpoint = f"redis://{cluster['CacheClusterId']}.cache.amazonaws.com:6379"
        client = elasticache.connect(clock=self.ctx.clock, trace=self.ctx.trace, name=cluster["CacheClusterId"])
        clients = self.ctx.clients
        endpoints.bind(clients, endpoint, client)
        self.ctx.on_teardown(lambda: endpoints.unbind(clients, endpoint))
        if hasattr(client, "close"):
            self.ctx.on_teardown(client.close)
        self.ctx.deployed.update(cache_nodes=1, cache_node_type=node_type)
        return CacheCluster(cluster["CacheClusterId"], endpoint, client)

    def database(self, base: str, *, schema: str = "", engine: str = "postgres",
                 instance_class: str = "db.t4g.micro", storage_gb: int = 20) -> Database:
        """An RDS DB instance (its master password managed in Secrets Manager) and the SQL behind its endpoint,
        with ``schema`` executed; the SQL is closed at teardown."""
        from app.runtime.dataplanes.rds import SqlDatabase

        db = self._client("rds").create_db_instance(
            DBInstanceIdentifier=self.ctx.name(base), Engine=engine, DBInstanceClass=instance_class,
            AllocatedStorage=storage_gb, MasterUsername=base, ManageMasterUserPassword=True)["DBInstance"]
        sql = SqlDatabase(db["Endpoint"]["Address"], db["Engine"], trace=self.ctx.trace)
        if schema:
            sql.execute(schema)
        self.ctx.on_teardown(sql.close)
        self.ctx.deployed.update(rds_instances=1, rds_instance_class=instance_class)
        return Database(db["DBInstanceIdentifier"], sql)
