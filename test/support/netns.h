#pragma once
// Real pods for integration tests, on one machine and touching nothing outside the test: a
// "node" network namespace holding a bridge, and per pod a namespace joined to that bridge by a
// veth pair. The node does not forward, so no packet can leave; every address a test sends to
// belongs to a namespace the test created. Everything is removed when the TestNetwork goes
// away, also when an assertion fails first.
//
// Names: every namespace is "mt-<pid>-<n>-<name>", so a later run can recognise and remove
// what a crashed run left behind (its pid is dead).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace meshctl::test {

struct Pod {
  std::string name;  // as given to add_pod
  std::string ns;    // network namespace
  std::string ip;    // on the bridge subnet, e.g. "10.199.23.2"
  std::string veth;  // the node-side end of its veth pair (what to capture on)
};

class TestNetwork {
 public:
  // Creates the node namespace and its bridge; removes leftovers of dead runs first.
  TestNetwork();
  ~TestNetwork();
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  const std::string& node_ns() const { return node_ns_; }
  // The bridge's address, which is also every pod's default gateway.
  const std::string& gateway_ip() const { return gateway_; }
  // "10.199.N.0/24": the subnet pods get their addresses from.
  std::string pod_subnet() const;
  // A virtual address in 10.199.200.0/24 for a service's cluster IP: nothing answers there, the
  // pods' default route only makes the outbound redirect see traffic to it.
  static std::string service_ip(int n);

  // `name` is a DNS label of at most 8 characters (interface names are short).
  Pod add_pod(const std::string& name);

  // Starts argv inside `ns` (as `uid`, with no supplementary groups, when uid != 0). The handle
  // kills it when dropped; the network also kills whatever still runs in its namespaces.
  std::unique_ptr<Process> run_in(const std::string& ns, const std::vector<std::string>& argv, int uid = 0);
  // Runs argv inside `ns` to completion.
  CommandResult exec_in(const std::string& ns, const std::vector<std::string>& argv, int uid = 0);

  // Where processes write their stdout/stderr and captures their files; readable by every UID
  // (mode 0755) so a proxy running as 2102 can read what the test writes for it.
  const TempDir& dir() const { return dir_; }

 private:
  void must(const std::vector<std::string>& argv);

  std::string prefix_;
  std::string node_ns_;
  std::string gateway_;
  int subnet_octet_ = 0;
  int next_host_ = 2;
  std::vector<std::string> namespaces_;
  TempDir dir_;
};

// argv that runs `argv` inside network namespace `ns`, dropping to `uid` (and gid) when non-zero.
std::vector<std::string> in_netns(const std::string& ns, const std::vector<std::string>& argv, int uid = 0);

// A TCP socket (IPv4) of network namespace `ns`, made in-process: the namespace of a socket is
// fixed when it is created, so a test can then use it from any thread. The caller closes it.
int tcp_socket_in(const std::string& ns);

// Deletes namespaces named mt-<pid>-... whose pid no longer runs, after killing what runs in
// them; returns how many it removed.
int remove_stale_namespaces();
// Network namespaces whose name starts with `prefix`.
std::vector<std::string> namespaces_with_prefix(const std::string& prefix);

// A tcpdump on one interface of a namespace, writing a pcap file: start it before the traffic,
// stop() it after, then ask what it saw.
class PacketCapture {
 public:
  PacketCapture(TestNetwork& net, const std::string& ns, const std::string& interface);
  ~PacketCapture();
  // Stops tcpdump, letting it flush the file; returns how many packets it wrote.
  size_t stop();
  // Whether `bytes` appear in the TCP payload of the captured packets. Each TCP flow's payload is
  // joined in capture order first, so a needle split across segments is still found.
  bool saw_plaintext(const std::string& bytes) const;
  size_t tcp_payload_bytes() const;
  const std::string& path() const { return path_; }
  // tcpdump's own messages, for a failing test to show.
  std::string log() const { return tcpdump_->stderr_text(); }

 private:
  std::string path_;
  std::unique_ptr<Process> tcpdump_;
  bool stopped_ = false;
};

// Builds the Go test apps under test/apps once per build tree (guarded by a lock file so
// concurrent test binaries build once) and returns the path of `name` ("echo-server",
// "echo-client").
std::string go_test_app(const std::string& name);

}  // namespace meshctl::test
