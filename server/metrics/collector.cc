#include "server/metrics/collector.h"

#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"
#include "server/engine/engine_metrics.h"

namespace taskhub::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<std::pair<std::string, std::string>>;

class Families {
 public:
  MetricFamily& Add(std::string name, std::string help, MetricType type) {
    out_.push_back(MetricFamily{"taskhub_" + std::move(name), std::move(help), type, {}});
    return out_.back();
  }
  void Counter(MetricFamily& f, double v, const Labels& labels = {}) {
    ClientMetric& m = Sample(f, labels);
    m.counter.value = v;
  }
  void Gauge(MetricFamily& f, double v, const Labels& labels = {}) {
    ClientMetric& m = Sample(f, labels);
    m.gauge.value = v;
  }
  void Histogram(MetricFamily& f, const engine::FixedHistogram::Snapshot& s,
                 const Labels& labels = {}) {
    ClientMetric& m = Sample(f, labels);
    m.histogram.sample_count = s.count;
    m.histogram.sample_sum = s.sum;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < s.counts.size(); ++i) {
      cumulative += s.counts[i];
      const double le = i < s.bounds.size() ? s.bounds[i] : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back({cumulative, le});
    }
  }
  // A simple family with one unlabelled sample.
  void One(std::string name, std::string help, MetricType type, double v) {
    MetricFamily& f = Add(std::move(name), std::move(help), type);
    if (type == MetricType::Counter) {
      Counter(f, v);
    } else {
      Gauge(f, v);
    }
  }
  std::vector<MetricFamily> Take() {
    return std::vector<MetricFamily>(std::make_move_iterator(out_.begin()),
                                     std::make_move_iterator(out_.end()));
  }

 private:
  static ClientMetric& Sample(MetricFamily& f, const Labels& labels) {
    ClientMetric& m = f.metric.emplace_back();
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    return m;
  }
  std::deque<MetricFamily> out_;  // Add() hands out references: never reallocated
};

void AddWorkItems(Families& fs, const engine::EngineMetrics& m, const engine::EngineStats& st) {
  using engine::WorkKind;
  using engine::WorkOutcome;
  auto& dispatched = fs.Add("work_items_dispatched_total", "Work items sent to workers, by kind.",
                            MetricType::Counter);
  auto& completed =
      fs.Add("work_items_completed_total", "Work items whose result the engine accepted, by kind.",
             MetricType::Counter);
  auto& abandoned = fs.Add(
      "work_items_abandoned_total",
      "Work items given back for redelivery, by kind and reason (worker: the worker abandoned "
      "it; lease_expired: not completed within its lease; disconnected: its stream closed).",
      MetricType::Counter);
  auto& dropped = fs.Add("work_items_dropped_total",
                         "Deliveries the engine cancelled (instance terminated, rewound, "
                         "deleted), by kind.",
                         MetricType::Counter);
  auto& in_flight =
      fs.Add("work_items_in_flight", "Work items sent and not yet completed.", MetricType::Gauge);
  auto& duration = fs.Add("work_item_duration_seconds",
                          "Time from dispatch to accepted completion: orchestration episodes, "
                          "activities, entity batches.",
                          MetricType::Histogram);
  for (int k = 0; k < engine::kWorkKinds; ++k) {
    const Labels kind{{"kind", engine::WorkKindName(WorkKind(k))}};
    auto rel = [&](WorkOutcome o) { return static_cast<double>(m.released[k][int(o)].load()); };
    fs.Counter(dispatched, static_cast<double>(m.dispatched[k].load()), kind);
    fs.Counter(completed, rel(WorkOutcome::kCompleted), kind);
    for (auto [o, reason] : {std::pair{WorkOutcome::kAbandoned, "worker"},
                             std::pair{WorkOutcome::kLeaseExpired, "lease_expired"},
                             std::pair{WorkOutcome::kDisconnected, "disconnected"}}) {
      Labels l = kind;
      l.emplace_back("reason", reason);
      fs.Counter(abandoned, rel(o), l);
    }
    fs.Counter(dropped, rel(WorkOutcome::kDropped), kind);
    fs.Gauge(in_flight, static_cast<double>(st.in_flight[k]), kind);
    fs.Histogram(duration, m.work_seconds[k].Read(), kind);
  }
}

void AddCommits(Families& fs, const engine::EngineMetrics& m, const engine::EngineStats& st) {
  fs.One("commits_total", "Group commits written to the store (each one durable write).",
         MetricType::Counter, static_cast<double>(st.commits));
  fs.One("commit_submissions_total", "Write sets (and durability barriers) queued for commit.",
         MetricType::Counter, static_cast<double>(st.submissions));
  fs.One("commit_failures_total",
         "Failed group commits (the first one makes the store refuse writes until restart).",
         MetricType::Counter, static_cast<double>(m.commit_failures.load()));
  fs.Histogram(fs.Add("commit_duration_seconds",
                      "Time of one group commit in the store, the WAL sync included.",
                      MetricType::Histogram),
               m.commit_seconds.Read());
  fs.Histogram(fs.Add("commit_group_size", "Write sets merged into one group commit.",
                      MetricType::Histogram),
               m.commit_group_size.Read());
  fs.One("purged_instances_total",
         "Instances deleted by purges (client purges and retention) since start-up.",
         MetricType::Counter, static_cast<double>(st.purged_instances));
  fs.One("retention_purged_instances_total",
         "Instances deleted by the --retention policy since start-up.", MetricType::Counter,
         static_cast<double>(st.retention_purged_instances));
}

void AddInstances(Families& fs, const engine::EngineMetrics& m, const engine::EngineStats& st) {
  auto& instances = fs.Add("instances",
                           "Orchestration instances in the store, by runtime status (kept "
                           "current from the engine's writes; no store scan).",
                           MetricType::Gauge);
  for (int s = 0; s < engine::kInstanceStatuses; ++s) {
    if (s == ORCHESTRATION_STATUS_CANCELED) continue;  // obsolete; never written
    fs.Gauge(instances, static_cast<double>(m.instances[s].load()),
             {{"status", engine::StatusLabel(s)}});
  }
  fs.One("entities", "Durable entities in the store.", MetricType::Gauge,
         static_cast<double>(m.entities.load()));
  fs.One("live_instances", "Non-terminal instances and entities held in memory.", MetricType::Gauge,
         static_cast<double>(st.live_instances));
  fs.One("ready_orchestrations", "Orchestrations with work queued for dispatch.", MetricType::Gauge,
         static_cast<double>(st.ready_orchestrations - st.ready_entities));
  fs.One("ready_entities", "Entities with requests queued for dispatch.", MetricType::Gauge,
         static_cast<double>(st.ready_entities));
  fs.One("activity_tasks", "Activity tasks scheduled and not completed (waiting or in flight).",
         MetricType::Gauge, static_cast<double>(st.activities));
  fs.One("durable_timers", "Durable timers waiting to fire.", MetricType::Gauge,
         static_cast<double>(m.durable_timers.load()));
  fs.One("worker_streams", "Connected worker streams (GetWorkItems).", MetricType::Gauge,
         static_cast<double>(st.streams));
  fs.One("worker_connections", "Distinct worker connections (peers) among the streams.",
         MetricType::Gauge, static_cast<double>(st.connections));
  fs.One("waiters", "Clients waiting for an instance to start or complete.", MetricType::Gauge,
         static_cast<double>(st.waiters));
  fs.One("history_cache_events", "History events held in the history cache.", MetricType::Gauge,
         static_cast<double>(st.cached_history_events));
  fs.One("history_cache_hits_total", "Episodes dispatched with their history already in memory.",
         MetricType::Counter, static_cast<double>(m.history_cache_hits.load()));
  fs.One("history_cache_misses_total", "Histories loaded from the store.", MetricType::Counter,
         static_cast<double>(m.history_cache_misses.load()));
}

void AddStorage(Families& fs, const storage::Backend* backend) {
  std::vector<storage::StorageStat> stats;
  backend->CollectStats(&stats);
  std::map<std::string, MetricFamily*> by_name;
  for (const auto& s : stats) {
    MetricFamily*& f = by_name[s.name];
    if (f == nullptr) {
      f = &fs.Add(s.name, s.help, s.counter ? MetricType::Counter : MetricType::Gauge);
    }
    if (s.counter) {
      fs.Counter(*f, s.value, s.labels);
    } else {
      fs.Gauge(*f, s.value, s.labels);
    }
  }
}

void AddNotifications(Families& fs, const NotificationStats& n) {
  fs.One("notifications_delivered_total",
         "Lifecycle notifications a webhook accepted (2xx) since start-up.", MetricType::Counter,
         static_cast<double>(n.delivered));
  fs.One("notification_failed_attempts_total",
         "Webhook deliveries that failed (non-2xx, no answer) and will be retried or "
         "dead-lettered.",
         MetricType::Counter, static_cast<double>(n.failed_attempts));
  fs.One("notifications_dead_lettered_total",
         "Notifications dead-lettered since start-up (attempts or age exhausted).",
         MetricType::Counter, static_cast<double>(n.dead_lettered));
  fs.One("notifications_pending", "Notifications waiting for delivery.", MetricType::Gauge,
         static_cast<double>(n.pending));
  fs.One("notifications_dead",
         "Dead-lettered notifications kept in the store (taskhub notifications failed).",
         MetricType::Gauge, static_cast<double>(n.dead));
}

}  // namespace

std::string RenderMetrics(engine::Engine* engine, const storage::Backend* backend,
                          std::optional<bool> ready,
                          std::optional<NotificationStats> notifications) {
  const engine::EngineStats st = engine->Stats();
  const engine::EngineMetrics& m = engine->metrics();
  Families fs;
  if (ready) {
    fs.One("ready", "1 while the store is open and the server serves (as /readyz).",
           MetricType::Gauge, *ready ? 1 : 0);
  }
  AddWorkItems(fs, m, st);
  AddCommits(fs, m, st);
  AddInstances(fs, m, st);
  AddStorage(fs, backend);
  if (notifications) AddNotifications(fs, *notifications);
  return prometheus::TextSerializer().Serialize(fs.Take());
}

}  // namespace taskhub::metrics
