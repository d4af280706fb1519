#include "support/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace meshctl::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

void run_or_throw(const std::vector<std::string>& argv) {
  const auto r = run_command(argv);
  if (r.exit_code != 0) throw std::runtime_error(join(argv) + " failed (" + std::to_string(r.exit_code) + "): " + r.err);
}

// Kills everything that runs inside `ns` (tcpdump, servers, grandchildren a test did not
// track) so the namespace can really go, then deletes it.
void delete_namespace(const std::string& ns) {
  for (int round = 0; round < 3; ++round) {
    const auto pids = run_command({"ip", "netns", "pids", ns});
    std::istringstream in(pids.out);
    int pid = 0, killed = 0;
    while (in >> pid) {
      if (pid != getpid() && kill(pid, SIGKILL) == 0) ++killed;
    }
    if (killed == 0) break;
    std::this_thread::sleep_for(50ms);
  }
  run_command({"ip", "netns", "delete", ns});
}

// The pid a namespace name carries ("mt-<pid>-..."), or 0 when it is not one of ours.
int pid_of_namespace(const std::string& ns) {
  if (!ns.starts_with("mt-")) return 0;
  const auto dash = ns.find('-', 3);
  if (dash == std::string::npos) return 0;
  try {
    return std::stoi(ns.substr(3, dash - 3));
  } catch (const std::exception&) {
    return 0;
  }
}

// A zombie counts as dead: a test killed a moment ago may not have been reaped yet.
bool process_alive(int pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

uint16_t be16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t le32(const unsigned char* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }

// TCP payloads of an Ethernet pcap, joined per flow (addresses and ports in both directions
// kept apart) in capture order.
std::map<std::string, std::string> tcp_flows(const std::string& pcap) {
  std::map<std::string, std::string> flows;
  const auto* data = reinterpret_cast<const unsigned char*>(pcap.data());
  if (pcap.size() < 24 || le32(data) != 0xa1b2c3d4u || le32(data + 20) != 1 /* LINKTYPE_ETHERNET */) return flows;
  size_t at = 24;
  while (at + 16 <= pcap.size()) {
    const uint32_t caplen = le32(data + at + 8);
    at += 16;
    if (at + caplen > pcap.size()) break;
    const unsigned char* p = data + at;
    at += caplen;
    if (caplen < 14 + 20 || be16(p + 12) != 0x0800) continue;  // IPv4 only
    const unsigned char* ip = p + 14;
    const size_t ihl = (ip[0] & 0x0f) * 4u;
    const size_t ip_len = std::min<size_t>(be16(ip + 2), caplen - 14);
    if (ip[9] != 6 || ip_len < ihl + 20) continue;  // TCP only
    const unsigned char* tcp = ip + ihl;
    const size_t thl = (tcp[12] >> 4) * 4u;
    if (ip_len < ihl + thl) continue;
    std::ostringstream key;
    for (int i = 12; i < 20; ++i) key << int(ip[i]) << (i == 15 ? ">" : ".");
    key << be16(tcp) << ">" << be16(tcp + 2);
    flows[key.str()].append(reinterpret_cast<const char*>(tcp + thl), ip_len - ihl - thl);
  }
  return flows;
}

std::string build_dir() { return fs::path(MESHCTL_BINARY).parent_path().string(); }

}  // namespace

std::vector<std::string> in_netns(const std::string& ns, const std::vector<std::string>& argv, int uid) {
  std::vector<std::string> full{"ip", "netns", "exec", ns};
  if (uid != 0) {
    const std::string id = std::to_string(uid);
    full.insert(full.end(), {"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"});
  }
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

int tcp_socket_in(const std::string& ns) {
  const int ns_fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) throw std::runtime_error("open /run/netns/" + ns + ": " + std::strerror(errno));
  int fd = -1, error = 0;
  // setns() moves only the calling thread, so a short-lived thread does it and the test's own
  // thread stays where it was.
  std::thread([&] {
    if (setns(ns_fd, CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) error = errno;
  }).join();
  close(ns_fd);
  if (fd < 0) throw std::runtime_error("socket in " + ns + ": " + std::strerror(error));
  return fd;
}

std::vector<std::string> namespaces_with_prefix(const std::string& prefix) {
  std::vector<std::string> out;
  // `ip netns list` prints "name (id: N)"; the name is the first word.
  std::istringstream in(run_command({"ip", "netns", "list"}).out);
  std::string line;
  while (std::getline(in, line)) {
    const std::string name = line.substr(0, line.find(' '));
    if (!name.empty() && name.starts_with(prefix)) out.push_back(name);
  }
  return out;
}

int remove_stale_namespaces() {
  int removed = 0;
  for (const auto& ns : namespaces_with_prefix("mt-")) {
    const int pid = pid_of_namespace(ns);
    if (pid <= 0 || pid == getpid()) continue;
    if (process_alive(pid)) continue;  // its test is still running
    delete_namespace(ns);
    ++removed;
  }
  return removed;
}

TestNetwork::TestNetwork() {
  remove_stale_namespaces();
  // Processes a test runs as the proxy's UID read their token and trust anchors from here.
  fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
  static std::atomic<int> counter{0};
  prefix_ = "mt-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + "-";
  // One /24 per test process, so two concurrent runs never pick the same addresses even if a
  // capture or a log were ever compared across them. 200 and up stay for service IPs.
  subnet_octet_ = 1 + static_cast<int>(getpid() % 199);
  gateway_ = "10.199." + std::to_string(subnet_octet_) + ".1";
  node_ns_ = prefix_ + "node";
  try {
    must({"ip", "netns", "add", node_ns_});
    namespaces_.push_back(node_ns_);
    must({"ip", "-n", node_ns_, "link", "set", "lo", "up"});
    must({"ip", "-n", node_ns_, "link", "add", "br0", "type", "bridge"});
    must({"ip", "-n", node_ns_, "addr", "add", gateway_ + "/24", "dev", "br0"});
    must({"ip", "-n", node_ns_, "link", "set", "br0", "up"});
    // A fresh namespace starts with forwarding off; say so explicitly so pods can only reach
    // each other across the bridge and the node itself, never beyond.
    must({"ip", "netns", "exec", node_ns_, "sysctl", "-qw", "net.ipv4.ip_forward=0"});
  } catch (...) {
    for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) delete_namespace(*it);
    throw;
  }
}

TestNetwork::~TestNetwork() {
  // Pods first: deleting a pod namespace also removes its veth pair from the bridge.
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) delete_namespace(*it);
}

std::string TestNetwork::pod_subnet() const { return "10.199." + std::to_string(subnet_octet_) + ".0/24"; }

std::string TestNetwork::service_ip(int n) { return "10.199.200." + std::to_string(n); }

void TestNetwork::must(const std::vector<std::string>& argv) { run_or_throw(argv); }

Pod TestNetwork::add_pod(const std::string& name) {
  if (name.empty() || name.size() > 8) throw std::runtime_error("pod name \"" + name + "\" must have 1 to 8 characters");
  if (next_host_ > 254) throw std::runtime_error("no addresses left in " + pod_subnet());
  Pod pod{name, prefix_ + name, "10.199." + std::to_string(subnet_octet_) + "." + std::to_string(next_host_++),
          "v-" + name};
  must({"ip", "netns", "add", pod.ns});
  namespaces_.push_back(pod.ns);
  // Both ends are made inside the node namespace and one is moved straight into the pod, so no
  // interface ever appears in the machine's own namespace.
  must({"ip", "-n", node_ns_, "link", "add", pod.veth, "type", "veth", "peer", "name", "eth0", "netns", pod.ns});
  must({"ip", "-n", node_ns_, "link", "set", pod.veth, "master", "br0"});
  must({"ip", "-n", node_ns_, "link", "set", pod.veth, "up"});
  must({"ip", "-n", pod.ns, "link", "set", "lo", "up"});
  must({"ip", "-n", pod.ns, "addr", "add", pod.ip + "/24", "dev", "eth0"});
  must({"ip", "-n", pod.ns, "link", "set", "eth0", "up"});
  must({"ip", "-n", pod.ns, "route", "add", "default", "via", gateway_});
  return pod;
}

std::unique_ptr<Process> TestNetwork::run_in(const std::string& ns, const std::vector<std::string>& argv, int uid) {
  return std::make_unique<Process>(in_netns(ns, argv, uid), dir_.path());
}

CommandResult TestNetwork::exec_in(const std::string& ns, const std::vector<std::string>& argv, int uid) {
  return run_command(in_netns(ns, argv, uid));
}

PacketCapture::PacketCapture(TestNetwork& net, const std::string& ns, const std::string& interface) {
  static int counter = 0;
  path_ = net.dir().file("capture-" + std::to_string(++counter) + ".pcap");
  // --immediate-mode hands each packet to tcpdump as it arrives (otherwise the kernel holds them
  // in a ring block for up to a second, and SIGINT discards that block); -U writes each one out
  // at once, so stop() loses nothing; -Z root keeps tcpdump able to write into the test's private
  // directory; -s 0 keeps whole packets.
  tcpdump_ = net.run_in(ns, {"tcpdump", "-i", interface, "-n", "-s", "0", "--immediate-mode", "-U", "-Z", "root", "-w",
                             path_, "tcp"});
  if (!tcpdump_->wait_for_log("listening on", 10s)) {
    throw std::runtime_error("tcpdump did not start: " + tcpdump_->stderr_text());
  }
}

PacketCapture::~PacketCapture() { stop(); }

size_t PacketCapture::stop() {
  if (!stopped_) {
    stopped_ = true;
    // tcpdump delivers what the kernel still buffers before it exits on SIGINT.
    std::this_thread::sleep_for(200ms);
    tcpdump_->stop(SIGINT);
  }
  size_t packets = 0;
  const std::string pcap = read_file(path_);
  for (size_t at = 24; at + 16 <= pcap.size(); ++packets) {
    at += 16 + le32(reinterpret_cast<const unsigned char*>(pcap.data()) + at + 8);
  }
  return packets;
}

bool PacketCapture::saw_plaintext(const std::string& bytes) const {
  for (const auto& [flow, payload] : tcp_flows(read_file(path_))) {
    if (payload.find(bytes) != std::string::npos) return true;
  }
  return false;
}

size_t PacketCapture::tcp_payload_bytes() const {
  size_t n = 0;
  for (const auto& [flow, payload] : tcp_flows(read_file(path_))) n += payload.size();
  return n;
}

std::string go_test_app(const std::string& name) {
  static std::mutex mutex;
  static bool built = false;
  const std::string out_dir = build_dir() + "/test-apps";
  std::lock_guard guard(mutex);
  if (!built) {
    fs::create_directories(out_dir);
    // Test binaries of the same tree may run at once (ctest -j); the lock makes one of them
    // build while the others wait, and go's own cache makes a later build nearly free.
    const int lock = open((out_dir + "/.build.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + out_dir + "/.build.lock");
    const std::string go = fs::exists("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
    const auto r = run_command({"env", "-C", std::string(MESHCTL_SOURCE_DIR) + "/test/apps",
                                "GOFLAGS=-mod=readonly -buildvcs=false", "CGO_ENABLED=0", go, "build", "-o",
                                out_dir + "/", "./echo-server", "./echo-client"});
    flock(lock, LOCK_UN);
    close(lock);
    if (r.exit_code != 0) throw std::runtime_error("building test/apps failed: " + r.err);
    built = true;
  }
  return out_dir + "/" + name;
}

}  // namespace meshctl::test
