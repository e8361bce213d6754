/*
 * LD_PRELOAD shim for Debian's SyncEvolution 2.0.0 (test tooling only, see
 * shared protocol notes and docs/syncml.md). Its CurlTransportAgent passes NULL as
 * CURLOPT_READFUNCTION / CURLOPT_WRITEFUNCTION, so libcurl falls back to fread/fwrite on the
 * transport object and crashes. This wraps curl_easy_setopt and hands libcurl callbacks that
 * forward to the agent's own exported readData / writeData members. Built with
 * `cc -shared -fPIC -O2 -nostdlib`: no libc headers, dlsym resolves at run time.
 */
typedef unsigned long size_t;
extern void *dlsym(void *handle, const char *symbol);
#define RTLD_NEXT ((void *)-1)
#define RTLD_DEFAULT ((void *)0)
#define CURLOPT_WRITEFUNCTION 20011
#define CURLOPT_READFUNCTION 20012

typedef int (*setopt_fn)(void *, int, ...);
typedef size_t (*member_fn)(void *self, void *buffer, size_t size);

static setopt_fn real_setopt;
static member_fn read_data, write_data;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *agent) {
  return read_data(agent, buf, size * nitems);
}
static size_t write_cb(char *buf, size_t size, size_t nitems, void *agent) {
  return write_data(agent, buf, size * nitems);
}

int curl_easy_setopt(void *handle, int option, ...) {
  __builtin_va_list args;
  __builtin_va_start(args, option);
  void *value = __builtin_va_arg(args, void *);
  __builtin_va_end(args);
  if (!real_setopt) {
    real_setopt = (setopt_fn)dlsym(RTLD_NEXT, "curl_easy_setopt");
    read_data = (member_fn)dlsym(RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent8readDataEPvm");
    write_data = (member_fn)dlsym(RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent9writeDataEPvm");
  }
  if (option == CURLOPT_READFUNCTION && !value && read_data) value = (void *)read_cb;
  if (option == CURLOPT_WRITEFUNCTION && !value && write_data) value = (void *)write_cb;
  return real_setopt(handle, option, value);
}
