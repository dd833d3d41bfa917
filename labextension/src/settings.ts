/** The plugin whose schema (schema/core.json) holds every CodeCrafter setting. */
export const CORE_PLUGIN_ID = 'jupyter-codecrafter:core';
