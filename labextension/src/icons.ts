import { LabIcon } from '@jupyterlab/ui-components';

import codecrafterSvg from '../style/icons/codecrafter.svg';

export const codecrafterIcon = new LabIcon({
  name: 'jupyter-codecrafter:logo',
  svgstr: codecrafterSvg
});
