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
 */

#include <schsim/core/scenario/model.hpp>

namespace schsim::scenario {

/// The same scenario with only primitive, window-free steps. Meant for a scenario validate()
/// accepted; unknown references are copied through unchanged.
auto expand(const scenario& s) -> scenario;

/// True when `s` has no composite step and no windowed action left (what the engine runs).
auto is_expanded(const scenario& s) -> bool;

}  // namespace schsim::scenario
