#pragma once

// Prints `pagination: items=N page=500 listPage_peak_mb=... iterate_peak_mb=...
// list_peak_mb=...`: the peak resident memory of walking N sandboxes served
// by a local responder with a listPage loop, with iterate(), and with list().
void printPaginationMemory(int items);
