// Who may use a service, by the manifest. Init puts it on the service's
// command line: `clients=` the badges of the services whose uses= names its
// scheme, `programs=` the `program` lines that grant it (a delegated badge
// names its line). ns hands the service's handles to no one else, and they
// carry their holder's badge; a service that serves only these (the disk,
// the network device) checks each request with this in case a handle leaks.
#pragma once

#include <stdint.h>

namespace mica {

// Whether a request with this badge comes from a client the manifest names,
// or from init.
bool client_allowed(uint64_t badge);

// Whether the program a delegated badge was made for has ended: ns's Alive
// says its delegation was released (the shell releases it at the end).
// False for a service's badge, and when ns does not answer within 100 ms
// (restarting): servers that keep state per client (file:'s open files,
// net:'s sockets) ask again later.
bool program_ended(uint64_t badge);

}  // namespace mica
