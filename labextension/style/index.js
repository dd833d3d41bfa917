import './base.css';
import './documents.css';
