// Package inventory owns what dbfleet knows of the fleet: hosts (with their
// capacity, for placement), clusters, database instances (with encrypted
// credentials), the last observed state of each instance, data-source groups
// (named sets of instances, explicit or by selector) and shard maps (a
// logical database split over instances).
//
// Every change is audited in the same transaction. Other capabilities reach
// managed databases through Service.Connect, never by reading the tables.
//
// It owns the tables hosts, clusters, instances, instance_status,
// source_groups, source_group_members, shard_maps and shards.
package inventory
