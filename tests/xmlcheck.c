/* SPDX-License-Identifier: MIT */
/*
 * A well-formedness check of an XML file (the SVG of charnn plot), for
 * tests/test_ui.sh: one root element, every tag closed in order, quoted and
 * unique attributes, only the five predefined or numeric entities, no text
 * outside the root. Prints "well-formed", then "points ID N" for each
 * <polyline> with an id, and exits 0; or prints the first problem and
 * exits 1.
 *   usage: xmlcheck FILE
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *p, *base, *path;

static int fail(const char *what)
{
    printf("%s: not well-formed at byte %ld: %s\n", path, (long)(p - base), what);
    exit(1);
}

/* One of the predefined entities, or a numeric one. */
static int known_entity(const char *s, size_t len)
{
    static const char *const names[] = {"&lt", "&gt", "&amp", "&quot", "&apos"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (len == strlen(names[i]) && !strncmp(s, names[i], len))
            return 1;
    return len > 2 && s[1] == '#';
}

static void skip_space(void)
{
    while (*p && isspace((unsigned char)*p))
        p++;
}

static int name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == ':' || c == '.';
}

/* Checks entities in text or an attribute value up to (not past) `end`. */
static void check_entities(const char *s, const char *end)
{
    for (; s < end; s++) {
        if (*s == '<')
            fail("'<' in text or an attribute");
        if (*s != '&')
            continue;
        const char *semi = memchr(s, ';', (size_t)(end - s));
        if (!semi || !known_entity(s, (size_t)(semi - s)))
            fail("an unknown or unterminated entity");
    }
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    static char buf[1 << 24];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    path = argv[1];
    base = p = buf;
    char stack[64][64];
    int depth = 0, roots = 0;
    char report[64][96];
    int nreport = 0;
    while (*p) {
        if (*p != '<') {
            const char *start = p;
            while (*p && *p != '<')
                p++;
            if (depth == 0) {
                for (const char *s = start; s < p; s++)
                    if (!isspace((unsigned char)*s))
                        fail("text outside the root element");
            }
            check_entities(start, p);
            continue;
        }
        if (!strncmp(p, "<?", 2)) {
            const char *end = strstr(p, "?>");
            if (!end || depth || roots)
                fail("a misplaced or unterminated processing instruction");
            p = end + 2;
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            const char *end = strstr(p, "-->");
            if (!end)
                fail("an unterminated comment");
            p = end + 3;
            continue;
        }
        if (p[1] == '/') {
            p += 2;
            const char *start = p;
            while (name_char(*p))
                p++;
            size_t len = (size_t)(p - start);
            skip_space();
            if (*p != '>' || depth == 0 || strlen(stack[depth - 1]) != len ||
                strncmp(stack[depth - 1], start, len))
                fail("a closing tag that does not match");
            p++;
            depth--;
            continue;
        }
        p++;
        const char *start = p;
        while (name_char(*p))
            p++;
        if (p == start || p - start >= 64)
            fail("a bad element name");
        if (depth == 0 && roots++)
            fail("a second root element");
        char name[64], attrs[64][64], id[64] = "";
        int nattrs = 0, points = -1;
        snprintf(name, sizeof name, "%.*s", (int)(p - start), start);
        for (;;) {
            skip_space();
            if (*p == '/' || *p == '>')
                break;
            const char *an = p;
            while (name_char(*p))
                p++;
            if (p == an || p - an >= 64)
                fail("a bad attribute name");
            char attr[64];
            snprintf(attr, sizeof attr, "%.*s", (int)(p - an), an);
            for (int i = 0; i < nattrs; i++)
                if (!strcmp(attrs[i], attr))
                    fail("a repeated attribute");
            if (nattrs < 64)
                strcpy(attrs[nattrs++], attr);
            skip_space();
            if (*p++ != '=')
                fail("an attribute without a value");
            skip_space();
            char q = *p++;
            if (q != '"' && q != '\'')
                fail("an unquoted attribute value");
            const char *v = p, *end = strchr(p, q);
            if (!end)
                fail("an unterminated attribute value");
            check_entities(v, end);
            if (!strcmp(attr, "id"))
                snprintf(id, sizeof id, "%.*s", (int)(end - v), v);
            if (!strcmp(attr, "points")) {
                points = 0;
                for (const char *s = v; s < end;) {
                    while (s < end && isspace((unsigned char)*s))
                        s++;
                    if (s < end)
                        points++;
                    while (s < end && !isspace((unsigned char)*s))
                        s++;
                }
            }
            p = end + 1;
        }
        if (!strcmp(name, "polyline") && id[0] && nreport < 64)
            snprintf(report[nreport++], sizeof report[0], "points %s %d", id, points);
        if (*p == '/') {
            if (p[1] != '>')
                fail("a broken empty-element tag");
            p += 2;
        } else {
            p++;
            if (depth == 64)
                fail("nesting too deep");
            strcpy(stack[depth++], name);
        }
    }
    if (depth)
        fail("unclosed elements at the end");
    if (roots != 1)
        fail("no root element");
    printf("well-formed\n");
    for (int i = 0; i < nreport; i++)
        printf("%s\n", report[i]);
    return 0;
}
