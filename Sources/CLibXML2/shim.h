#ifndef MTL_CLIBXML2_SHIM_H
#define MTL_CLIBXML2_SHIM_H
// Debian's libxml2 headers include ICU when LIBXML_ICU_ENABLED is set; ICU headers clash
// with Foundation's private ICU inside one Swift module, so switch that include off.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/tree.h>
#include <libxml/hash.h>
#include <libxml/xmlerror.h>
#include <libxml/entities.h>
#include <libxml/uri.h>

/// `xmlFree` is a global function pointer, which Swift 6 rejects as not concurrency-safe.
static inline void mtl_xml_free(void *p) { xmlFree(p); }

/// True when the document's internal or external DTD subset declares general entities.
/// Such documents are refused before any entity is expanded ("billion laughs").
static inline int mtl_xml_doc_declares_entities(xmlDocPtr doc) {
    if (doc == NULL) return 0;
    if (doc->intSubset != NULL && doc->intSubset->entities != NULL &&
        xmlHashSize((xmlHashTablePtr)doc->intSubset->entities) > 0) return 1;
    if (doc->extSubset != NULL && doc->extSubset->entities != NULL &&
        xmlHashSize((xmlHashTablePtr)doc->extSubset->entities) > 0) return 1;
    return 0;
}

/// True when libxml2's URI parser accepts `s`: a namespace declaration whose URI it refuses
/// is an error to libxml2's parser.
static inline int mtl_xml_is_uri(const char *s) {
    xmlURIPtr uri = xmlParseURI(s);
    if (uri == NULL) return 0;
    xmlFreeURI(uri);
    return 1;
}

static void mtl_xml_ignore_generic_error(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }

/// Replaces libxml2's default generic error handler (which prints to stderr) on the calling
/// thread: the Swift side turns errors into its own messages. Per thread, as libxml2 keeps it.
static inline void mtl_xml_silence_errors(void) { xmlSetGenericErrorFunc(NULL, mtl_xml_ignore_generic_error); }

/// Sets the XPath context node (a struct field write, kept in C for clarity).
static inline void mtl_xpath_set_node(xmlXPathContextPtr ctx, xmlNodePtr node) { ctx->node = node; }

#endif
