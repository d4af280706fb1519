#include "core/discovery/destination_protocol.h"

#include <nlohmann/json.hpp>

namespace meshctl::core::discovery::protocol {
namespace {

using Json = nlohmann::json;

std::string_view trim(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  return line;
}

// A watch id: a positive integer that fits JSON's exact integers.
std::optional<std::uint64_t> watch_id(const Json& v) {
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > 0 && v.get<std::uint64_t>() <= (1ULL << 53)) {
    return v.get<std::uint64_t>();
  }
  if (v.is_number_integer() && v.get<std::int64_t>() > 0) return std::uint64_t(v.get<std::int64_t>());
  return std::nullopt;
}

Json labels_json(const std::map<std::string, std::string>& labels) {
  Json j = Json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

bool labels_from(const Json& j, std::map<std::string, std::string>& out) {
  if (j.is_null()) return true;
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return false;
    out[k] = v.get<std::string>();
  }
  return true;
}

}  // namespace

std::string_view hint_name(ProtocolHint hint) {
  switch (hint) {
    case ProtocolHint::h2: return "h2";
    case ProtocolHint::opaque: return "opaque";
    case ProtocolHint::unknown: break;
  }
  return "unknown";
}

RequestResult parse_request(std::string_view raw) {
  RequestResult r;
  const auto line = trim(raw);
  if (line.empty()) {
    r.request = Request{};
    return r;
  }
  const Json j = Json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.error = "not a JSON object";
    return r;
  }
  const bool has_watch = j.contains("watch"), has_cancel = j.contains("cancel");
  if (has_watch == has_cancel) {
    r.error = "expected either \"watch\" with \"target\", or \"cancel\"";
    if (has_watch) r.watch = watch_id(j["watch"]).value_or(0);
    return r;
  }
  const auto id = watch_id(has_watch ? j["watch"] : j["cancel"]);
  if (!id) {
    r.error = std::string("\"") + (has_watch ? "watch" : "cancel") + "\" must be a positive integer";
    return r;
  }
  r.watch = *id;
  if (has_cancel) {
    r.request = Request{Request::Kind::cancel, *id, {}};
    return r;
  }
  const auto target = j.find("target");
  if (target == j.end() || !target->is_string() || target->get<std::string>().empty()) {
    r.error = "watch without a \"target\" string";
    return r;
  }
  r.request = Request{Request::Kind::watch, *id, target->get<std::string>()};
  return r;
}

std::string encode_watch(std::uint64_t watch, std::string_view target) {
  return Json{{"watch", watch}, {"target", target}}.dump() + "\n";
}

std::string encode_cancel(std::uint64_t watch) { return Json{{"cancel", watch}}.dump() + "\n"; }

std::string encode_answer_body(const EndpointSet& set) {
  // nlohmann::json sorts keys; the wire order does not matter, only the fields.
  Json j = Json::object();
  j["exists"] = set.exists;
  if (set.exists) {
    j["opaque"] = set.opaque;
    j["labels"] = labels_json(set.labels);
    Json eps = Json::array();
    for (const auto& e : set.endpoints) {
      Json ej = {{"ip", e.ip}, {"port", e.port}, {"weight", e.weight}, {"hint", hint_name(e.hint)}};
      if (!e.identity.empty()) ej["identity"] = e.identity;
      if (e.opaque_transport_port) ej["opaqueTransportPort"] = e.opaque_transport_port;
      ej["labels"] = labels_json(e.labels);
      eps.push_back(std::move(ej));
    }
    j["endpoints"] = std::move(eps);
  }
  auto text = j.dump();  // "{...}"
  return text.substr(1) + "\n";
}

std::string encode_answer(std::uint64_t watch, std::string_view body) {
  std::string out = "{\"watch\":" + std::to_string(watch) + ",";
  out += body;
  return out;
}

std::string encode_error(std::uint64_t watch, std::string_view message) {
  Json j = Json::object();
  if (watch) j["watch"] = watch;
  j["error"] = message;
  return j.dump() + "\n";
}

std::optional<Answer> parse_answer(std::string_view raw, std::string& problem) {
  problem.clear();
  const auto line = trim(raw);
  if (line.empty()) return std::nullopt;
  const Json j = Json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    problem = "not a JSON object";
    return std::nullopt;
  }
  Answer a;
  if (j.contains("watch")) {
    const auto id = watch_id(j["watch"]);
    if (!id) {
      problem = "\"watch\" must be a positive integer";
      return std::nullopt;
    }
    a.watch = *id;
  }
  if (const auto e = j.find("error"); e != j.end()) {
    a.error = e->is_string() ? e->get<std::string>() : e->dump();
    return a;
  }
  if (!a.watch) {
    problem = "answer without \"watch\"";
    return std::nullopt;
  }
  const auto exists = j.find("exists");
  if (exists == j.end() || !exists->is_boolean()) {
    problem = "answer without \"exists\"";
    return std::nullopt;
  }
  EndpointSet set;
  set.exists = exists->get<bool>();
  if (set.exists) {
    set.opaque = j.value("opaque", false);
    if (!labels_from(j.value("labels", Json()), set.labels)) {
      problem = "\"labels\" must map strings to strings";
      return std::nullopt;
    }
    const auto eps = j.value("endpoints", Json::array());
    if (!eps.is_array()) {
      problem = "\"endpoints\" must be a list";
      return std::nullopt;
    }
    for (const auto& ej : eps) {
      if (!ej.is_object() || !ej.contains("ip") || !ej["ip"].is_string() || !ej.contains("port") ||
          !ej["port"].is_number_integer()) {
        problem = "an endpoint without ip and port";
        return std::nullopt;
      }
      Endpoint e;
      e.ip = ej["ip"].get<std::string>();
      e.port = ej["port"].get<int>();
      if (ej.contains("weight") && ej["weight"].is_number_unsigned()) e.weight = ej["weight"].get<std::uint32_t>();
      if (ej.contains("identity") && ej["identity"].is_string()) e.identity = ej["identity"].get<std::string>();
      const auto hint = ej.value("hint", std::string("unknown"));
      e.hint = hint == "h2" ? ProtocolHint::h2 : hint == "opaque" ? ProtocolHint::opaque : ProtocolHint::unknown;
      if (ej.contains("opaqueTransportPort") && ej["opaqueTransportPort"].is_number_integer()) {
        e.opaque_transport_port = ej["opaqueTransportPort"].get<int>();
      }
      if (!labels_from(ej.value("labels", Json()), e.labels)) {
        problem = "endpoint \"labels\" must map strings to strings";
        return std::nullopt;
      }
      set.endpoints.push_back(std::move(e));
    }
  }
  a.set = std::move(set);
  return a;
}

}  // namespace meshctl::core::discovery::protocol
