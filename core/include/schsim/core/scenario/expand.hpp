#pragma once
/**
 * @file
 * @brief Composite actions → primitive steps.
 *
 * The engine only runs primitive actions. expand() rewrites each composite step into the steps
 * it stands for and splits every window (`latency`, `stall`, `fragment` with `window`) into a
 * start step and an `<id>.end` step. The step that sends the composite's first notification
 * keeps the composite's id and trigger, so other steps can refer to the composite by its id. A
 * step that must come just before it (bringing the target endpoint up) copies the trigger and
 * comes first in step order; every other generated step is named `<id>.<part>` and triggered
 * `after` another generated step:
 *
 *   moving_lifecycle m                      migrate g / failover f
 *     m.up        bring `to` up (if any)      g            MIGRATING (FAILING_OVER)
 *     m           MOVING to `from`'s conns    g.latency    (if latency)
 *     m.close     after m, time + late_close  g.end        MIGRATED (FAILED_OVER) after duration
 *     m.retire    `from` down (if retire_old) g.latency_end
 *
 *   rolling_upgrade r                 maintenance_mode n            in_place_upgrade i
 *     r.up                              n.up                          i           opener
 *     r            MIGRATING            n          FAILING_OVER       i.latency
 *     r.latency                         n.latency                     i.restart   close all
 *     r.migrated   after migrate_for    n.failed_over                 i.down      refuse
 *     r.latency_end                     n.migrating                   i.up        after downtime
 *     r.moving     MOVING               n.migrated, n.latency_end     i.latency_end
 *     r.moving.close                    n.moving, n.moving.close      i.end       closer
 *
 * Generated notifications take automatic seqs unless the composite sets one, so a closing
 * notification's seq follows its opening one's.
 *
 * Cluster composites (docs/cluster.md). `S` below stands for the opted-in connections of each
 * source node; a SMIGRATING or SMIGRATED that goes to several nodes is one send step per node,
 * all with the first one's seq (`same_seq_as`). `smigrated_to = "all"` sends the SMIGRATED to
 * every opted-in connection instead.
 *
 *   slot_migration m                          remove_node r / add_node a / slot_shuffle x
 *     m            SMIGRATING to S(from)        a.up           bring the new node up (add_node)
 *     m.begin      begin_slot_migration         r              SMIGRATING to the first source
 *     m.latency                                 r.smigrating.<node>  the other sources
 *     m.complete   after migrate_for            r.begin.<n>    one per move (n from 1)
 *     m.smigrated  SMIGRATED [from, to, slots]  r.latency.<node>, r.latency_end.<node>
 *     m.latency_end                             r.complete.<n> after migrate_for
 *     m.redeliver  same SMIGRATED, same seq     r.smigrated    one triplet per move
 *                  (redeliver_after)            r.smigrated.<node>  the other sources
 *                                               r.retire.close, r.retire   (remove_node)
 *
 * The complete steps come before the SMIGRATED in step order and in time, so CLUSTER SLOTS has
 * already changed when a client reads the push. Which slots remove_node and add_node move
 * depends on who owns what at that step: ownership starts as the topology says and follows
 * the cluster steps in file order.
 */

#include <schsim/core/scenario/model.hpp>

#include <string>
#include <utility>
#include <vector>

namespace schsim::scenario {

/// The same scenario with only primitive, window-free steps. Meant for a scenario validate()
/// accepted; unknown references are copied through unchanged.
auto expand(const scenario& s) -> scenario;

/// How remove_node splits a node's slots: ascending, cut into `to.size()` consecutive parts,
/// the first parts one slot larger when the count does not divide evenly. Empty parts are left
/// out.
auto split_evenly(const schsim::cluster::slot_set& slots, const std::vector<std::string>& to)
    -> std::vector<std::pair<std::string, schsim::cluster::slot_set>>;

/// True when `s` has no composite step and no windowed action left (what the engine runs).
auto is_expanded(const scenario& s) -> bool;

}  // namespace schsim::scenario
