// init: the first process. It holds the initial capabilities, reads the boot
// manifest (etc/manifest in the boot file system), starts each service with
// exactly what its line grants, and supervises them: it is every service's
// fault handler, probes that servers still serve, and restarts what
// crashes, ends or hangs, with back-off. It tells the namespace server (ns)
// which scheme each service provides and which each may use, and the log
// server who is who; when either restarts, it tells the new incarnation again.
// service.h lists the parts.
#include "mica/process.h"
#include "mica/strings.h"
#include "service.h"

using namespace mica;

namespace init {

System g_system;

Service* System::by_name(const char* name) {
    for (uint32_t i = 0; i < count; ++i)
        if (!strcmp(services[i].name(), name)) return &services[i];
    return nullptr;
}

Service* System::by_scheme(const char* scheme, size_t length) {
    for (uint32_t i = 0; i < count; ++i)
        if (strlen(services[i].spec->provides) == length && !strncmp(services[i].spec->provides, scheme, length))
            return &services[i];
    return nullptr;
}

Service* System::from_badge(uint64_t badge, bool* fault) {
    if (fault) *fault = badge & kFaultBadgeBit;
    uint64_t index = (badge & ~kFaultBadgeBit) - 1;
    return index < count ? &services[index] : nullptr;
}

namespace {

bool read_manifest() {
    const uint8_t* data;
    uint64_t size;
    if (!find_file("etc/manifest", &data, &size)) {
        logf("init: no etc/manifest in the boot file system; nothing to start");
        return false;
    }
    parse_manifest(reinterpret_cast<const char*>(data), size, &g_system.manifest,
                   [](void*, int line, const char* why) { logf("init: manifest line %d: %s", line, why); }, nullptr);
    for (uint32_t i = 0; i < g_system.manifest.service_count; ++i) {
        Service& s = g_system.services[g_system.count++];
        s.spec = &g_system.manifest.services[i];
        s.badge = i + 1;
        if (!strcmp(s.spec->provides, "ns")) g_system.ns = &s;
        if (!strcmp(s.spec->provides, "log")) g_system.log = &s;
    }
    return true;
}

}  // namespace

}  // namespace init

int main() {
    using namespace init;
    const StartupInfo& info = startup();
    for (uint32_t i = 0; i < info.module_count; ++i) {
        if (strcmp(info.modules[i].name, "initfs") != 0) continue;
        g_system.archive_memory = info.modules[i].memory;
        g_system.archive_size = info.modules[i].size;
    }
    const void* archive;
    size_t size;
    if (!g_system.archive_memory || !map_boot_module("initfs", &archive, &size)) {
        logf("init: no initfs boot module; nothing to start");
        return 1;
    }
    g_system.archive = static_cast<const uint8_t*>(archive);
    HandleResult endpoint = sys::endpoint_create();
    if (!endpoint.ok()) {
        logf("init: cannot make its endpoint (%s)", error_name(endpoint.error()));
        return 1;
    }
    g_system.endpoint = endpoint.value();
    if (!read_manifest()) return 1;
    // Every endpoint exists before anything starts, so the namespace can
    // name them all from the beginning.
    for (uint32_t i = 0; i < g_system.count; ++i) make_endpoint(g_system.services[i]);
    logf("init: %u services in the manifest", g_system.count);
    for (uint32_t i = 0; i < g_system.count; ++i) launch(g_system.services[i]);

    rpc::Server server(g_system.endpoint);
    serve_control(server);
    server.on_other(on_fault);
    server.on_idle(supervise, kTick);
    server.run();
}
