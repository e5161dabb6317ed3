// The capabilities init makes once for a service and keeps across its
// incarnations: its endpoint (and the supervisor's badged handle to it),
// its device (claimed from the pci service), device memory, interrupt line,
// DMA memory and narrower resources.
#include "mica/strings.h"
#include "proto/pci.h"
#include "service.h"

using namespace mica;

namespace init {

namespace {

// Kept only if `r` is a handle; otherwise logged (`what` names it).
bool keep(Service& s, HandleResult r, Handle* out, const char* what) {
    if (!r.ok()) {
        logf("init: %s: cannot make %s (%s)", s.name(), what, error_name(r.error()));
        return false;
    }
    *out = r.value();
    return true;
}

// A notification bound to the service's endpoint: interrupts arrive as
// messages where the service receives.
HandleResult bound_notification(Service& s) {
    HandleResult n = sys::notification_create();
    if (!n.ok()) return n;
    if (int64_t e = sys::endpoint_bind_notification(s.held.endpoint, n.value()); e != kOk) {
        sys::handle_close(n.value());
        return HandleResult(e);
    }
    return n;
}

// A device= line: the pci service hands over the device (once; the handles
// stay with us for every incarnation of the driver).
bool claim_device(Service& s) {
    const ServiceSpec& spec = *s.spec;
    Service* pci = g_system.by_scheme("pci", 3);
    if (!pci || !pci->run.running) {
        logf("init: %s: no running pci service to claim device %04x:%04x from", s.name(), spec.pci_vendor,
             spec.pci_device);
        return false;
    }
    Handle via = pci->held.supervise;
    rpc::Extras extras{.timeout_ns = kProbeTimeout};
    proto::pci::Claim::Request q{spec.pci_vendor, spec.pci_device, spec.pci_instance};
    proto::pci::Claim::Reply r;
    if (int64_t e = rpc::call<proto::pci::Claim>(via, q, &r, extras); e < 0) {
        // A card the machine does not have (no network card in most runs)
        // is no failure of ours: said as what it is.
        if (e == kErrNotFound)
            logf("init: %s: no pci device %04x:%04x in this machine; not started", s.name(), spec.pci_vendor,
                 spec.pci_device);
        else
            logf("init: %s: cannot claim pci device %04x:%04x (%s)", s.name(), spec.pci_vendor, spec.pci_device,
                 error_name(e));
        return false;
    }
    for (uint32_t b = 0; b < proto::pci::kBars; ++b) {
        if (!r.bars[b].size) continue;
        proto::pci::Bar::Request bq{};
        copy_string(bq.name, sizeof bq.name, r.name);
        bq.bar = b;
        proto::pci::Bar::Reply br;
        rpc::Extras e = extras;
        e.received_handle = &s.held.bars[b];
        if (int64_t err = rpc::call<proto::pci::Bar>(via, bq, &br, e); err < 0) {
            logf("init: %s: cannot have BAR%u of %s (%s)", s.name(), b, r.name, error_name(err));
            return false;
        }
        s.held.io_bar[b] = r.bars[b].io;
    }
    proto::pci::Config::Request cq{};
    copy_string(cq.name, sizeof cq.name, r.name);
    proto::pci::Config::Reply cr;
    rpc::Extras ce = extras;
    ce.received_handle = &s.held.config;
    if (int64_t e = rpc::call<proto::pci::Config>(via, cq, &cr, ce); e < 0 || s.held.config == kNoHandle) {
        logf("init: %s: cannot have the configuration space of %s (%s)", s.name(), r.name, error_name(e));
        return false;
    }
    if (r.irq != 0xff) {
        HandleResult n = bound_notification(s);
        if (!n.ok()) {
            logf("init: %s: cannot bind an interrupt notification (%s)", s.name(), error_name(n.error()));
            return false;
        }
        HandleResult signal = sys::handle_duplicate(n.value(), kRightSignal | kRightTransfer);
        sys::handle_close(n.value());  // the endpoint keeps it bound
        if (!signal.ok()) {
            logf("init: %s: cannot pass the interrupt notification on (%s)", s.name(), error_name(signal.error()));
            return false;
        }
        proto::pci::Irq::Request iq{};
        copy_string(iq.name, sizeof iq.name, r.name);
        proto::pci::Irq::Reply ir;
        rpc::Extras ie = extras;
        ie.send_handle = signal.value();
        ie.received_handle = &s.held.irq_line;
        if (int64_t e = rpc::call<proto::pci::Irq>(via, iq, &ir, ie); e < 0) {
            logf("init: %s: cannot have the interrupt of %s (%s)", s.name(), r.name, error_name(e));
            return false;
        }
    }
    logf("init: %s gets pci device %s (%04x:%04x, irq %u)", s.name(), r.name, spec.pci_vendor, spec.pci_device,
         r.irq);
    return true;
}

}  // namespace

// Both handles or neither: a service with an endpoint but no supervisor
// handle could never be probed.
bool make_endpoint(Service& s) {
    if (!s.spec->provides[0] || s.held.endpoint != kNoHandle) return true;
    Handle endpoint;
    if (!keep(s, sys::endpoint_create(), &endpoint, "its endpoint")) return false;
    if (!keep(s, sys::handle_mint(endpoint, kRightWrite, kSupervisorBadge), &s.held.supervise,
              "the supervisor's handle to its endpoint")) {
        sys::handle_close(endpoint);
        return false;
    }
    s.held.endpoint = endpoint;
    return true;
}

bool acquire(Service& s) {
    const ServiceSpec& spec = *s.spec;
    const Handle root = startup().resource;
    if (!make_endpoint(s)) return false;
    for (uint32_t i = 0; i < spec.grant_count; ++i) {
        if (s.held.resources[i] != kNoHandle) continue;
        const Grant& g = spec.grants[i];
        HandleResult r = g.kind == kResourceDma ? sys::memory_create_contiguous(root, g.size, &s.held.dma_phys)
                                                : sys::resource_create(root, g.kind, g.base, g.size);
        if (!r.ok()) {
            logf("init: %s: cannot have resource %u:%lx:%lx (%s)", s.name(), g.kind, g.base, g.size,
                 error_name(r.error()));
            return false;
        }
        s.held.resources[i] = r.value();
    }
    if (spec.pci && s.held.config == kNoHandle && !claim_device(s)) return false;
    if (spec.mmio_size && s.held.mmio == kNoHandle &&
        !keep(s, sys::memory_create_physical(root, spec.mmio_base, spec.mmio_size), &s.held.mmio, "device memory"))
        return false;
    if (spec.irq >= 0 && s.held.irq_line == kNoHandle) {
        HandleResult n = bound_notification(s);
        if (!n.ok()) {
            logf("init: %s: cannot bind an interrupt notification (%s)", s.name(), error_name(n.error()));
            return false;
        }
        HandleResult line = sys::irq_create(root, static_cast<uint32_t>(spec.irq), kIrqEdge, n.value(), 1);
        sys::handle_close(n.value());  // the line and the endpoint keep it
        if (!keep(s, line, &s.held.irq_line, "its interrupt line")) return false;
    }
    return true;
}

// A service that cannot run at all (no program, no device): never
// restarted, and its endpoint closed, so that clients get kErrPeerClosed at
// once rather than waiting for an answer that will never come.
void give_up(Service& s) {
    s.policy.given_up = true;
    if (s.held.endpoint != kNoHandle) {
        sys::handle_close(s.held.endpoint);
        s.held.endpoint = kNoHandle;
    }
}

}  // namespace init
