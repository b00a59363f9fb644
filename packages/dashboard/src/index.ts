// The dashboard every daemon serves on its control API: plain files, no build
// step. The page holds no data of its own; it reads the daemon's routes with
// the bearer token the user gives it.
import { fileURLToPath } from 'node:url'

/** The directory of the page's files (index.html, app.js, style.css, ...). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../static/', import.meta.url))
