/* SPDX-License-Identifier: MIT */
/*
 * charnn export: a checkpoint's model as JSON (charnn help files,
 * "Exported tensors"), as one C99 file (charnn help export), or as a
 * checkpoint of its weights as the C file stores them (--quantize), which
 * charnn eval and sample then score and draw from exactly as the C file
 * computes. A file given by -o is replaced only if charnn export wrote it,
 * or with --force if it is one of the same kind; never the checkpoint
 * read, nor a file of another kind (charnn help safety).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const formats[] = {"json", "c", "ckpt", NULL};
enum { FORMAT_JSON, FORMAT_C, FORMAT_CKPT };

/* An existing C file or header: a preprocessor line (#include, #define,
 * #if...) in its first 4 KB, which a corpus or notes lack. */
static int is_c(const char *head)
{
    for (const char *line = head; line;) {
        const char *p = line + strspn(line, " \t");
        if (*p == '#') {
            p += 1 + strspn(p + 1, " \t");
            if (strncmp(p, "include", 7) == 0 || strncmp(p, "define", 6) == 0 ||
                strncmp(p, "if", 2) == 0 || strncmp(p, "pragma", 6) == 0)
                return 1;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return 0;
}

/* An existing JSON document: an object or array first. */
static int is_json(const char *head)
{
    head += strspn(head, " \t\r\n");
    return *head == '{' || *head == '[';
}

static int is_checkpoint(const char *head)
{
    return strncmp(head, "CHARNNCK", 8) == 0;
}

/* What export replaces (charnn help safety): its own JSON and C files
 * (their marks), any checkpoint as far as cli_check_document sees (then
 * check_output's load decides); with --force, another of the same kind. */
static const Document documents[] = {
    {"a JSON document", "charnn export replaces only JSON documents", "model.json", is_json,
     "charnn export", "{\"format\": \"charnn\"", NULL},
    {"a C file", "charnn export replaces only C files", "model.c", is_c, "charnn export",
     "written by charnn export", NULL},
    {"a charnn checkpoint", "charnn export replaces only checkpoints", "model.int8.ckpt",
     is_checkpoint, "charnn export", "CHARNNCK", NULL},
};

/* output may be written: not the checkpoint read, not a directory, and a
 * file of the format's kind that export wrote (or with force, any of that
 * kind); for a checkpoint, a model alone as export writes one (with force,
 * also a training run's or a damaged one). */
static int check_output(const char *output, const char *ckpt, int format, int force)
{
    int rc = cli_check_document(output, 1, &ckpt, 1, &documents[format], force,
                                documents[format].example);
    struct stat sb;
    if (rc != 0 || format != FORMAT_CKPT || force || stat(output, &sb) != 0 ||
        !S_ISREG(sb.st_mode) || sb.st_size == 0)
        return rc;
    CnError err;
    CnCheckpoint *there = cn_checkpoint_load(output, &err);
    if (!there) {
        cli_error("%s holds a damaged checkpoint (%s); give another -o, or --force to replace it",
                  output, err.msg);
        return EXIT_USAGE;
    }
    int run = cn_checkpoint_config(there)->batch > 0;
    char n[32];
    if (run)
        cli_error("%s holds a training run's checkpoint (%s iterations); charnn export replaces "
                  "only a model alone, as it writes one: give another -o, or --force",
                  output, cli_count(cn_checkpoint_progress(there)->iteration, n));
    cn_checkpoint_free(there);
    return run ? EXIT_USAGE : 0;
}

static int c_letter(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* what cn_export_c takes as a name: [A-Za-z_][A-Za-z0-9_]* */
static int c_identifier(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CN_EXPORT_NAME_MAX || !c_letter(name[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!c_letter(name[i]) && !(name[i] >= '0' && name[i] <= '9'))
            return 0;
    return 1;
}

/* The default --name: the output's file name up to its first dot, as a C
 * identifier (other characters become '_'); "model" for standard output. */
static void name_of(const char *output, char *name, size_t n)
{
    const char *base = output ? strrchr(output, '/') : NULL;
    base = base ? base + 1 : output;
    size_t k = 0;
    for (const char *p = base; p && *p && *p != '.' && k + 1 < n; p++)
        name[k++] = c_letter(*p) || (*p >= '0' && *p <= '9') ? *p : '_';
    name[k] = '\0';
    if (k == 0 || !c_letter(name[0]) || cli_is_device(output))
        snprintf(name, n, "model");
}

typedef struct {
    const CnModel *model;
    const CnExportC *opt;
    int format;
    CnError err;
} Job;

static int write_job(FILE *out, const void *ctx)
{
    Job *job = (Job *)(uintptr_t)ctx;
    if (job->format == FORMAT_JSON)
        return cn_export_json(out, job->model);
    return cn_export_c(out, job->model, job->opt, &job->err);
}

/* The combinations that make no sense, refused with the fix. */
static int check_args(const Command *cmd, int format, const char *output)
{
    const char *why = NULL;
    if (format != FORMAT_C && cli_flag(cmd, "name")->set)
        why = "--name names the C file's functions; give --format c, or drop --name";
    else if (format != FORMAT_C && cli_flag(cmd, "header")->set)
        why = "--header writes the C file's header; give --format c, or drop --header";
    else if (format == FORMAT_CKPT && !output)
        why = "--format ckpt writes a checkpoint file; give -o FILE, e.g. -o model.int8.ckpt";
    if (why)
        cli_error("%s", why);
    return why ? EXIT_USAGE : 0;
}

int cmd_export(int argc, char **argv)
{
    const char *format_name = "json", *store_name = "fp32", *output = NULL, *name = NULL,
               *header = NULL;
    int force = 0;
    Flag flags[] = {
        {.name = "format", .type = FLAG_STR, .value = &format_name, .arg = "FMT",
         .help = "json: the tensors (charnn help files); c: one C99 file with a step "
                 "function and the sampler (charnn help export); ckpt: a checkpoint of "
                 "the weights as stored (for charnn eval and sample)",
         .choices = formats},
        {.name = "quantize", .type = FLAG_STR, .value = &store_name, .arg = "Q",
         .help = "store the weights as int8 (per-row scales) or bf16; fp32: as trained",
         .choices = cn_store_names},
        {.name = "output", .type = FLAG_STR, .value = &output, .arg = "FILE", .short_name = 'o',
         .help = "the file to write, - for standard output (the default; json and c)"},
        {.name = "name", .type = FLAG_STR, .value = &name, .arg = "NAME",
         .help = "c: the prefix of what the file defines, NAME_step, NAME_VOCAB (default: the "
                 "output's name up to its first dot, or model)"},
        {.name = "header", .type = FLAG_STR, .value = &header, .arg = "FILE.h",
         .help = "c: also write the file's declarations as a header"},
        {.name = "force", .type = FLAG_SWITCH, .value = &force,
         .help = "replace a file of the format's kind that charnn export did not write "
                 "(never another kind of file, nor the checkpoint read)"},
        {.name = NULL},
    };
    Command cmd = {.name = "export", .usage = "export CKPT [--format json|c|ckpt] [-o FILE]",
                   .summary = "Write the model as JSON, as one C99 file, or as a checkpoint of "
                              "its quantized weights (charnn help export).",
                   .flags = flags, .min_args = 1, .max_args = 1};
    const char *args[1];
    int nargs, rc;
    if ((rc = cli_parse(&cmd, argc, argv, args, &nargs)) != CLI_GO)
        return rc;
    if (output && strcmp(output, "-") == 0)
        output = NULL; /* standard output */
    int format = cn_lookup(formats, format_name);
    CnStore store = (CnStore)cn_lookup(cn_store_names, store_name);
    if ((rc = check_args(&cmd, format, output)) != 0)
        return rc;
    if (output && (rc = check_output(output, args[0], format, force)) != 0)
        return rc;
    if (header && (output && cli_same_file(header, output))) {
        cli_error("--header %s is the C file itself; give another name, e.g. model.h", header);
        return EXIT_USAGE;
    }
    if (header && (rc = check_output(header, args[0], FORMAT_C, force)) != 0)
        return rc;
    char derived[CN_EXPORT_NAME_MAX + 1];
    if (!name) {
        name_of(output, derived, sizeof derived);
        name = derived;
    }
    if (!c_identifier(name)) {
        cli_error("--name %s is not a C identifier (letters, digits and '_', at most %d, not "
                  "starting with a digit); give e.g. --name model", name, CN_EXPORT_NAME_MAX);
        return EXIT_USAGE;
    }
    CnError err;
    CnCheckpoint *ck = cn_checkpoint_load(args[0], &err);
    if (!ck) {
        cli_error("%s", err.msg);
        return EXIT_ERROR;
    }
    const CnModel *trained = cn_checkpoint_model(ck);
    CnModel *stored = store == CN_STORE_FP32 ? NULL : cn_model_stored(trained, store, &err);
    const CnModel *model = store == CN_STORE_FP32 ? trained : stored;
    if (!model) {
        cli_error("%s", err.msg);
        cn_checkpoint_free(ck);
        return EXIT_ERROR;
    }
    CnExportC opt = {.name = name, .store = store, .source = args[0]};
    Job job = {model, &opt, format, {""}};
    if (format == FORMAT_CKPT) {
        if (cn_model_save(model, output, &err) != 0) {
            cli_error("%s", err.msg);
            rc = EXIT_ERROR;
        }
    } else {
        rc = cli_write_document(output ? output : "-", write_job, &job);
    }
    if (rc == 0 && header) {
        CnExportC declarations = opt;
        declarations.header = 1;
        job.opt = &declarations;
        rc = cli_write_document(header, write_job, &job);
    }
    if (rc == 0 && output && !cli_is_device(output)) {
        CnShape s = cn_model_shape(model);
        char n[32];
        printf("wrote %s: %s, %d layer%s x %d, %s parameters, weights as %s%s%s\n", output,
               cn_cell_names[s.cell], s.layers, s.layers == 1 ? "" : "s", s.hidden,
               cli_count(cn_model_params(model), n), store_name, header ? ", with " : "",
               header ? header : ""); /* (--header only with --format c) */
    }
    cn_model_free(stored);
    cn_checkpoint_free(ck);
    return rc;
}
