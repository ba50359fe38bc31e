/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cohort-listen.c: parse Listen= and open the socket that every worker of
 * the cluster receives as fd 3 (the systemd socket-activation convention).
 * Cohort keeps its own copy, close-on-exec, so replacements can be started
 * without ever closing the port. */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cohort-listen.h"

#define LISTEN_BACKLOG 511

/* "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" or "8080"
 * (both loopback: a port opened by a desktop tool should not face the
 * network unless asked to, with 0.0.0.0 or [::]). Port 0 picks a free one. */
GSocketAddress *
cohort_listen_parse (const char  *spec,
                     GError     **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *port_text;
  char *end = NULL;
  long port;

  g_return_val_if_fail (spec != NULL, NULL);

  if (spec[0] == '[')
    {
      const char *close = strchr (spec, ']');

      if (close == NULL || close[1] != ':')
        goto invalid;
      host = g_strndup (spec + 1, close - spec - 1);
      port_text = close + 2;
    }
  else
    {
      const char *colon = strrchr (spec, ':');

      if (colon == NULL)
        {
          host = g_strdup ("127.0.0.1");
          port_text = spec;
        }
      else
        {
          if (memchr (spec, ':', colon - spec) != NULL)
            goto invalid; /* a bare IPv6 address needs brackets */
          host = colon == spec ? g_strdup ("127.0.0.1")
                               : g_strndup (spec, colon - spec);
          port_text = colon + 1;
        }
    }

  errno = 0;
  port = strtol (port_text, &end, 10);
  if (*port_text == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535)
    goto invalid;

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    {
      g_free (host);
      host = g_strdup ("127.0.0.1");
    }

  address = g_inet_address_new_from_string (host);
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not an IP address (write 127.0.0.1, [::1], 0.0.0.0 or localhost)"),
                   host);
      return NULL;
    }

  return g_inet_socket_address_new (address, (guint16) port);

invalid:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _("expected HOST:PORT, [IPV6]:PORT or PORT, got “%s”"), spec);
  return NULL;
}

int
cohort_listen_open (const char  *spec,
                    guint16     *bound_port,
                    GError     **error)
{
  g_autoptr(GSocketAddress) address = NULL;
  struct sockaddr_storage native;
  socklen_t native_len;
  int saved_errno;
  int one = 1;
  int fd;

  g_return_val_if_fail (spec != NULL, -1);

  address = cohort_listen_parse (spec, error);
  if (address == NULL)
    return -1;

  native_len = g_socket_address_get_native_size (address);
  if (!g_socket_address_to_native (address, &native, sizeof native, error))
    return -1;

  fd = socket (native.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto failed;

  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (native.ss_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);

  if (bind (fd, (struct sockaddr *) &native, native_len) != 0 ||
      listen (fd, LISTEN_BACKLOG) != 0)
    goto failed;

  if (bound_port != NULL)
    {
      struct sockaddr_storage bound;
      socklen_t bound_len = sizeof bound;

      *bound_port = 0;
      if (getsockname (fd, (struct sockaddr *) &bound, &bound_len) == 0)
        {
          if (bound.ss_family == AF_INET)
            *bound_port = ntohs (((struct sockaddr_in *) &bound)->sin_port);
          else if (bound.ss_family == AF_INET6)
            *bound_port = ntohs (((struct sockaddr_in6 *) &bound)->sin6_port);
        }
    }

  return fd;

failed:
  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               _("Cannot listen on %s: %s"), spec, g_strerror (saved_errno));
  return -1;
}
